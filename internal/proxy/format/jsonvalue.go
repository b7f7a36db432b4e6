package format

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/structpb"
)

const hexDigits = "0123456789abcdef"

// needsEscape reports whether b must be escaped inside a JSON string; bytes of 0x80
// and above are checked separately as UTF-8.
var needsEscape = func() (t [256]bool) {
	for c := 0; c < 0x20; c++ {
		t[c] = true
	}
	t['"'], t['\\'] = true, true
	return t
}()

// appendJSONString appends s as a quoted JSON string.
func appendJSONString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	dst = appendEscaped(dst, s)
	return append(dst, '"')
}

// appendEscaped appends s escaped for the inside of a JSON string. Valid UTF-8 is
// kept as it is; an invalid byte is written as \u00XX.
func appendEscaped(dst []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if !needsEscape[c] {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			dst = appendEscapedByte(dst, c)
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = appendEscapedByte(dst, c)
			i++
			start = i
			continue
		}
		i += size
	}
	return append(dst, s[start:]...)
}

func appendEscapedByte(dst []byte, c byte) []byte {
	switch c {
	case '"', '\\':
		return append(dst, '\\', c)
	case '\n':
		return append(dst, '\\', 'n')
	case '\r':
		return append(dst, '\\', 'r')
	case '\t':
		return append(dst, '\\', 't')
	case '\b':
		return append(dst, '\\', 'b')
	case '\f':
		return append(dst, '\\', 'f')
	}
	return append(dst, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
}

// safeForJSON reports whether b can be placed inside a JSON string unchanged.
func safeForJSON(b []byte) bool {
	high := false
	for _, c := range b {
		if needsEscape[c] {
			return false
		}
		high = high || c >= utf8.RuneSelf
	}
	return !high || utf8.Valid(b)
}

// appendNumber appends f as a JSON number: integers without a fraction, others in
// the shortest form that reads back the same; NaN and infinities become null.
func appendNumber(dst []byte, f float64) []byte {
	switch {
	case math.IsNaN(f) || math.IsInf(f, 0):
		return append(dst, "null"...)
	case f == math.Trunc(f) && math.Abs(f) < 1e16:
		return strconv.AppendInt(dst, int64(f), 10)
	case math.Abs(f) >= 1e-4 && math.Abs(f) < 1e16:
		return strconv.AppendFloat(dst, f, 'f', -1, 64)
	}
	return strconv.AppendFloat(dst, f, 'e', -1, 64)
}

// appendJSONValue appends a metadata value as compact JSON with object keys sorted.
func appendJSONValue(dst []byte, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...)
	case string:
		return appendJSONString(dst, x)
	case bool:
		return strconv.AppendBool(dst, x)
	case float64:
		return appendNumber(dst, x)
	case float32:
		return appendNumber(dst, float64(x))
	case int:
		return strconv.AppendInt(dst, int64(x), 10)
	case int32:
		return strconv.AppendInt(dst, int64(x), 10)
	case int64:
		return strconv.AppendInt(dst, x, 10)
	case uint32:
		return strconv.AppendUint(dst, uint64(x), 10)
	case uint64:
		return strconv.AppendUint(dst, x, 10)
	case map[string]any:
		return appendJSONObject(dst, x)
	case map[string]string:
		return appendJSONObject(dst, x)
	case []any:
		return appendJSONList(dst, x)
	case []string:
		return appendJSONList(dst, x)
	case *structpb.Struct:
		return appendJSONObject(dst, x.GetFields())
	case *structpb.ListValue:
		return appendJSONList(dst, x.GetValues())
	case *structpb.Value:
		return appendProtoValue(dst, x)
	}
	return appendJSONString(dst, fmt.Sprint(v))
}

func appendJSONObject[V any](dst []byte, m map[string]V) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, k)
		dst = append(dst, ':')
		dst = appendJSONValue(dst, m[k])
	}
	return append(dst, '}')
}

func appendJSONList[V any](dst []byte, l []V) []byte {
	dst = append(dst, '[')
	for i, v := range l {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONValue(dst, v)
	}
	return append(dst, ']')
}

func appendProtoValue(dst []byte, v *structpb.Value) []byte {
	switch k := v.GetKind().(type) {
	case *structpb.Value_StringValue:
		return appendJSONString(dst, k.StringValue)
	case *structpb.Value_NumberValue:
		return appendNumber(dst, k.NumberValue)
	case *structpb.Value_BoolValue:
		return strconv.AppendBool(dst, k.BoolValue)
	case *structpb.Value_StructValue:
		return appendJSONObject(dst, k.StructValue.GetFields())
	case *structpb.Value_ListValue:
		return appendJSONList(dst, k.ListValue.GetValues())
	}
	return append(dst, "null"...)
}
