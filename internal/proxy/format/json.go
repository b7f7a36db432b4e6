package format

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// JSONFormatter is a parsed json_format: one JSON object per entry, keys sorted, with
// a newline after it. A value that is a single operator keeps its type (numbers stay
// numbers, metadata stays structured) and is null when absent; a value mixing text
// and operators is a string in which absent values print as "-". It is immutable
// and safe for concurrent use.
type JSONFormatter struct {
	root      jsonNode
	omitEmpty bool
}

// jsonKind says what a jsonNode holds.
type jsonKind uint8

const (
	jsonRaw      jsonKind = iota // pre-rendered JSON (literal strings, numbers, bools)
	jsonNull                     // a literal null
	jsonTemplate                 // a format string with operators
	jsonObject
	jsonList
)

// jsonNode is one compiled value of the format.
type jsonNode struct {
	kind jsonKind
	raw  string    // jsonRaw
	segs []segment // jsonTemplate; literals are pre-escaped
	keys []string  // jsonObject: `"key":` already quoted
	kids []jsonNode
}

// ParseJSON parses a json_format struct. String values may contain command
// operators; nested objects and lists are supported.
func ParseJSON(fields *structpb.Struct, opts Options) (*JSONFormatter, error) {
	root, err := compileObject(fields.GetFields(), "")
	if err != nil {
		return nil, err
	}
	return &JSONFormatter{root: root, omitEmpty: opts.OmitEmptyValues}, nil
}

func compileObject(fields map[string]*structpb.Value, path string) (jsonNode, error) {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	n := jsonNode{kind: jsonObject}
	for _, k := range keys {
		kid, err := compileValue(fields[k], path+"."+k)
		if err != nil {
			return jsonNode{}, err
		}
		n.keys = append(n.keys, string(appendJSONString(nil, k))+":")
		n.kids = append(n.kids, kid)
	}
	return n, nil
}

func compileValue(v *structpb.Value, path string) (jsonNode, error) {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return compileString(k.StringValue, path)
	case *structpb.Value_NumberValue:
		return jsonNode{kind: jsonRaw, raw: string(appendNumber(nil, k.NumberValue))}, nil
	case *structpb.Value_BoolValue:
		return jsonNode{kind: jsonRaw, raw: strconv.FormatBool(k.BoolValue)}, nil
	case *structpb.Value_StructValue:
		return compileObject(k.StructValue.GetFields(), path)
	case *structpb.Value_ListValue:
		n := jsonNode{kind: jsonList}
		for i, e := range k.ListValue.GetValues() {
			kid, err := compileValue(e, path+"["+strconv.Itoa(i)+"]")
			if err != nil {
				return jsonNode{}, err
			}
			n.kids = append(n.kids, kid)
		}
		return n, nil
	}
	return jsonNode{kind: jsonNull}, nil
}

// compileString compiles a string value: plain text, or a template when it holds '%'.
func compileString(s, path string) (jsonNode, error) {
	if !strings.Contains(s, "%") {
		return jsonNode{kind: jsonRaw, raw: string(appendJSONString(nil, s))}, nil
	}
	segs, err := parseSegments(s)
	if err != nil {
		return jsonNode{}, fmt.Errorf("json_format %s: %w", strings.TrimPrefix(path, "."), err)
	}
	if len(segs) == 1 && segs[0].op == nil || len(segs) == 0 {
		var lit string
		if len(segs) == 1 {
			lit = segs[0].literal
		}
		return jsonNode{kind: jsonRaw, raw: string(appendJSONString(nil, lit))}, nil
	}
	for i := range segs {
		segs[i].literal = string(appendEscaped(nil, segs[i].literal))
	}
	return jsonNode{kind: jsonTemplate, segs: segs}, nil
}

// Append formats info as one JSON object followed by a newline and appends it to dst.
func (f *JSONFormatter) Append(dst []byte, info *streaminfo.Info) []byte {
	dst, _ = f.appendObject(dst, &f.root, info, true)
	return append(dst, '\n')
}

// Format returns the formatted line.
func (f *JSONFormatter) Format(info *streaminfo.Info) string {
	return string(f.Append(nil, info))
}

// appendNode appends n's value. It reports false, leaving dst as it was, when the
// value is null and empty values are omitted.
func (f *JSONFormatter) appendNode(dst []byte, n *jsonNode, info *streaminfo.Info) ([]byte, bool) {
	switch n.kind {
	case jsonRaw:
		return append(dst, n.raw...), true
	case jsonTemplate:
		return f.appendTemplate(dst, n.segs, info)
	case jsonObject:
		return f.appendObject(dst, n, info, false)
	case jsonList:
		return f.appendList(dst, n, info), true
	}
	return f.null(dst)
}

func (f *JSONFormatter) null(dst []byte) ([]byte, bool) {
	if f.omitEmpty {
		return dst, false
	}
	return append(dst, "null"...), true
}

// appendObject appends an object. With empty values omitted, keys whose value is null
// are left out, and a nested object left empty that way is dropped too.
func (f *JSONFormatter) appendObject(dst []byte, n *jsonNode, info *streaminfo.Info, root bool) ([]byte, bool) {
	start := len(dst)
	dst = append(dst, '{')
	written := 0
	for i := range n.kids {
		mark := len(dst)
		if written > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, n.keys[i]...)
		var ok bool
		if dst, ok = f.appendNode(dst, &n.kids[i], info); !ok {
			dst = dst[:mark]
			continue
		}
		written++
	}
	if written == 0 && len(n.kids) > 0 && !root {
		return dst[:start], false
	}
	return append(dst, '}'), true
}

// appendList appends a list; a null element is kept as null.
func (f *JSONFormatter) appendList(dst []byte, n *jsonNode, info *streaminfo.Info) []byte {
	dst = append(dst, '[')
	for i := range n.kids {
		if i > 0 {
			dst = append(dst, ',')
		}
		kid := &n.kids[i]
		if kid.kind == jsonObject {
			dst, _ = f.appendObject(dst, kid, info, true)
			continue
		}
		var ok bool
		if dst, ok = f.appendNode(dst, kid, info); !ok {
			dst = append(dst, "null"...)
		}
	}
	return append(dst, ']')
}

// appendTemplate appends a template value: typed when it is a single operator,
// otherwise a string.
func (f *JSONFormatter) appendTemplate(dst []byte, segs []segment, info *streaminfo.Info) ([]byte, bool) {
	if len(segs) == 1 {
		return f.appendTyped(dst, segs[0].op, info)
	}
	dst = append(dst, '"')
	for i := range segs {
		s := &segs[i]
		if s.op == nil {
			dst = append(dst, s.literal...)
			continue
		}
		var ok bool
		if dst, ok = appendTextEscaped(dst, s.op, info); !ok && !f.omitEmpty {
			dst = append(dst, '-')
		}
	}
	return append(dst, '"'), true
}

// appendTyped appends one operator's value as its JSON type; absent is null.
func (f *JSONFormatter) appendTyped(dst []byte, op *operator, info *streaminfo.Info) ([]byte, bool) {
	var ok bool
	switch op.kind {
	case kindValue:
		dst, ok = op.value(dst, info)
	case kindNumber:
		dst, ok = op.appendText(dst, info)
	default:
		dst = append(dst, '"')
		if dst, ok = appendTextEscaped(dst, op, info); ok {
			dst = append(dst, '"')
		} else {
			dst = dst[:len(dst)-1]
		}
	}
	if !ok {
		return f.null(dst)
	}
	return dst, true
}

// appendTextEscaped appends op's text escaped for a JSON string. It escapes in place,
// copying only when the text has something to escape.
func appendTextEscaped(dst []byte, op *operator, info *streaminfo.Info) ([]byte, bool) {
	n := len(dst)
	dst, ok := op.appendText(dst, info)
	if !ok || safeForJSON(dst[n:]) {
		return dst, ok
	}
	raw := string(dst[n:])
	return appendEscaped(dst[:n], raw), true
}
