package file

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/golang/protobuf/jsonpb" //nolint:staticcheck // Istio's JSON dialect: durations such as "3m" and "100ms"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/weftmesh/weft/internal/control/config"
)

// decodeSpec fills msg from the JSON of an object's spec. It first walks the JSON
// against the message's descriptor so that unknown fields, wrong types, unknown enum
// values and conflicting oneof fields are reported with their paths
// ("spec.http[0].rout"); then it decodes with jsonpb, Istio's JSON dialect (durations
// may be written "7s", "100ms" or "3m").
func decodeSpec(specJSON []byte, msg proto.Message) []config.FieldError {
	dec := json.NewDecoder(bytes.NewReader(specJSON))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return []config.FieldError{{Path: "spec", Reason: fmt.Sprintf("invalid JSON: %v", err)}}
	}
	var fe []config.FieldError
	checkMessage(&fe, "spec", msg.ProtoReflect().Descriptor(), v)
	if len(fe) > 0 {
		return fe
	}
	u := jsonpb.Unmarshaler{}
	if err := u.Unmarshal(bytes.NewReader(specJSON), protoadapt.MessageV1Of(msg)); err != nil {
		return []config.FieldError{{Path: "spec", Reason: err.Error()}}
	}
	return nil
}

// checkMessage checks a JSON value that should hold the message md.
func checkMessage(fe *[]config.FieldError, path string, md protoreflect.MessageDescriptor, v any) {
	if strings.HasPrefix(string(md.FullName()), "google.protobuf.") {
		checkWellKnown(fe, path, md, v)
		return
	}
	obj, ok := v.(map[string]any)
	if !ok {
		addf(fe, path, "want an object, got %s", jsonType(v))
		return
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	oneofs := map[protoreflect.FullName]string{}
	for _, k := range keys {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k))
		}
		if fd == nil {
			addf(fe, path+"."+k, "unknown field")
			continue
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() && obj[k] != nil {
			if prev, dup := oneofs[od.FullName()]; dup {
				addf(fe, path, "%s and %s cannot both be set (only one of %s)", prev, k, oneofNames(od))
			}
			oneofs[od.FullName()] = k
		}
		checkField(fe, path+"."+k, fd, obj[k])
	}
}

// checkField checks the value of one field: a list, a map or a single value.
func checkField(fe *[]config.FieldError, path string, fd protoreflect.FieldDescriptor, v any) {
	if v == nil {
		return
	}
	switch {
	case fd.IsList():
		list, ok := v.([]any)
		if !ok {
			addf(fe, path, "want a list, got %s", jsonType(v))
			return
		}
		for i, e := range list {
			checkSingle(fe, fmt.Sprintf("%s[%d]", path, i), fd, e)
		}
	case fd.IsMap():
		m, ok := v.(map[string]any)
		if !ok {
			addf(fe, path, "want a map, got %s", jsonType(v))
			return
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			checkSingle(fe, path+"["+k+"]", fd.MapValue(), m[k])
		}
	default:
		checkSingle(fe, path, fd, v)
	}
}

// checkSingle checks one value of a field's type.
func checkSingle(fe *[]config.FieldError, path string, fd protoreflect.FieldDescriptor, v any) {
	if v == nil {
		return
	}
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		checkMessage(fe, path, fd.Message(), v)
	case protoreflect.EnumKind:
		checkEnum(fe, path, fd.Enum(), v)
	case protoreflect.BoolKind:
		if _, ok := v.(bool); !ok {
			addf(fe, path, "want true or false, got %s", jsonType(v))
		}
	case protoreflect.StringKind, protoreflect.BytesKind:
		if _, ok := v.(string); !ok {
			addf(fe, path, "want a string, got %s", jsonType(v))
		}
	default:
		checkNumber(fe, path, fd.Kind(), v)
	}
}

// checkNumber checks a number (JSON numbers, or numbers in strings as proto3 JSON allows).
func checkNumber(fe *[]config.FieldError, path string, kind protoreflect.Kind, v any) {
	var s string
	switch n := v.(type) {
	case json.Number:
		s = n.String()
	case string:
		s = n
	default:
		addf(fe, path, "want a number, got %s", jsonType(v))
		return
	}
	switch kind {
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		if _, err := strconv.ParseFloat(s, 64); err != nil {
			addf(fe, path, "want a number, got %q", s)
		}
		return
	}
	bits := 64
	if kind == protoreflect.Int32Kind || kind == protoreflect.Sint32Kind || kind == protoreflect.Sfixed32Kind ||
		kind == protoreflect.Uint32Kind || kind == protoreflect.Fixed32Kind {
		bits = 32
	}
	f, err := strconv.ParseFloat(s, 64)
	switch unsigned := kind == protoreflect.Uint32Kind || kind == protoreflect.Uint64Kind || kind == protoreflect.Fixed32Kind || kind == protoreflect.Fixed64Kind; {
	case err != nil || f != math.Trunc(f):
		addf(fe, path, "want an integer, got %s", s)
	case unsigned && f < 0:
		addf(fe, path, "want a non-negative integer, got %s", s)
	case unsigned && f > math.Pow(2, float64(bits))-1, !unsigned && math.Abs(f) > math.Pow(2, float64(bits-1)):
		addf(fe, path, "%s does not fit in %d bits", s, bits)
	}
}

// checkEnum checks an enum value: one of the value names, or a number.
func checkEnum(fe *[]config.FieldError, path string, ed protoreflect.EnumDescriptor, v any) {
	switch e := v.(type) {
	case json.Number:
		return
	case string:
		if ed.Values().ByName(protoreflect.Name(e)) != nil {
			return
		}
		names := make([]string, ed.Values().Len())
		for i := range names {
			names[i] = string(ed.Values().Get(i).Name())
		}
		addf(fe, path, "unknown value %q (want one of %s)", e, strings.Join(names, ", "))
	default:
		addf(fe, path, "want a string, got %s", jsonType(v))
	}
}

// checkWellKnown checks the well-known types that have their own JSON form. Durations
// are parsed as Istio does (Go duration syntax); the others are left to jsonpb.
func checkWellKnown(fe *[]config.FieldError, path string, md protoreflect.MessageDescriptor, v any) {
	if md.FullName() != "google.protobuf.Duration" {
		return
	}
	s, ok := v.(string)
	if !ok {
		addf(fe, path, "want a duration such as \"1s\" or \"100ms\", got %s", jsonType(v))
		return
	}
	if _, err := time.ParseDuration(s); err != nil {
		addf(fe, path, "invalid duration %q (want e.g. \"1.5s\", \"100ms\", \"2m\")", s)
	}
}

// oneofNames lists the JSON names of a oneof's fields.
func oneofNames(od protoreflect.OneofDescriptor) string {
	names := make([]string, od.Fields().Len())
	for i := range names {
		names[i] = od.Fields().Get(i).JSONName()
	}
	return strings.Join(names, ", ")
}

// jsonType names the JSON type of a decoded value.
func jsonType(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "a list"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return "null"
}

func addf(fe *[]config.FieldError, path, format string, args ...any) {
	*fe = append(*fe, config.FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
}
