package format

import (
	"strings"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// metadataOp builds %DYNAMIC_METADATA(NAMESPACE:KEY:...):Z%: the namespace as a JSON
// object, or the value at the key path. Strings print as they are, other values as
// JSON; in JSON formats the value keeps its type and the length is ignored.
func metadataOp(arg string) (*operator, error) {
	parts := strings.Split(arg, ":")
	ns, path := parts[0], parts[1:]
	return &operator{
		kind: kindValue,
		text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
			v, ok := lookupMetadata(info.Metadata, ns, path)
			if !ok {
				return dst, false
			}
			if s, isString := stringValue(v); isString {
				return append(dst, s...), true
			}
			return appendJSONValue(dst, v), true
		},
		value: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
			v, ok := lookupMetadata(info.Metadata, ns, path)
			if !ok {
				return dst, false
			}
			return appendJSONValue(dst, v), true
		},
	}, nil
}

// lookupMetadata finds the value at path in namespace ns; nil values are absent.
func lookupMetadata(md map[string]map[string]any, ns string, path []string) (any, bool) {
	fields, ok := md[ns]
	if !ok {
		return nil, false
	}
	if len(path) == 0 {
		return fields, true
	}
	v, ok := fields[path[0]]
	for _, key := range path[1:] {
		if !ok {
			break
		}
		v, ok = child(v, key)
	}
	if !ok || isNull(v) {
		return nil, false
	}
	return v, true
}

// child returns the field key of an object value.
func child(v any, key string) (any, bool) {
	switch m := v.(type) {
	case map[string]any:
		c, ok := m[key]
		return c, ok
	case map[string]string:
		c, ok := m[key]
		return c, ok
	case *structpb.Struct:
		c, ok := m.GetFields()[key]
		return c, ok
	case *structpb.Value:
		if s := m.GetStructValue(); s != nil {
			c, ok := s.GetFields()[key]
			return c, ok
		}
	}
	return nil, false
}

// isNull reports whether v is a JSON null.
func isNull(v any) bool {
	if v == nil {
		return true
	}
	if pv, ok := v.(*structpb.Value); ok {
		_, null := pv.GetKind().(*structpb.Value_NullValue)
		return pv == nil || pv.GetKind() == nil || null
	}
	return false
}

// stringValue returns v's string when it is a string.
func stringValue(v any) (string, bool) {
	switch s := v.(type) {
	case string:
		return s, true
	case *structpb.Value:
		if sv, ok := s.GetKind().(*structpb.Value_StringValue); ok {
			return sv.StringValue, true
		}
	}
	return "", false
}
