package config

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"sigs.k8s.io/yaml"
)

// durationsAsStrings rewrites, in YAML or JSON config for the message md, every
// google.protobuf.Duration written as an object ({seconds: 30, nanos: 0}), which Envoy's
// loader accepts, into the string form ("30s") that Go's protojson requires.
func durationsAsStrings(data []byte, md protoreflect.MessageDescriptor) ([]byte, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var v any
	if err := json.Unmarshal(js, &v); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	return json.Marshal(fixMessage(v, md))
}

func fixMessage(v any, md protoreflect.MessageDescriptor) any {
	obj, ok := v.(map[string]any)
	if !ok {
		return v
	}
	if md.FullName() == "google.protobuf.Duration" {
		return durationString(obj)
	}
	if md.FullName() == "google.protobuf.Any" {
		if url, ok := obj["@type"].(string); ok {
			if mt, err := protoregistry.GlobalTypes.FindMessageByURL(url); err == nil {
				return fixMessage(obj, mt.Descriptor())
			}
		}
		return v
	}
	for k, fv := range obj {
		fd := md.Fields().ByJSONName(k)
		if fd == nil {
			fd = md.Fields().ByName(protoreflect.Name(k))
		}
		if fd != nil {
			obj[k] = fixField(fv, fd)
		}
	}
	return obj
}

func fixField(v any, fd protoreflect.FieldDescriptor) any {
	switch {
	case fd.IsMap():
		if m, ok := v.(map[string]any); ok && fd.MapValue().Message() != nil {
			for k, mv := range m {
				m[k] = fixMessage(mv, fd.MapValue().Message())
			}
		}
	case fd.Message() == nil:
	case fd.IsList():
		if l, ok := v.([]any); ok {
			for i := range l {
				l[i] = fixMessage(l[i], fd.Message())
			}
		}
	default:
		return fixMessage(v, fd.Message())
	}
	return v
}

// durationString turns {seconds, nanos} into "<seconds>.<nanos>s"; anything else is
// returned unchanged for protojson to reject.
func durationString(obj map[string]any) any {
	secs, nanos := int64(0), int64(0)
	for k, v := range obj {
		n, ok := v.(float64)
		if !ok || (k != "seconds" && k != "nanos") {
			return obj
		}
		if k == "seconds" {
			secs = int64(n)
		} else {
			nanos = int64(n)
		}
	}
	s := strconv.FormatInt(secs, 10)
	if nanos != 0 {
		frac := fmt.Sprintf("%09d", abs(nanos))
		s += "." + strings.TrimRight(frac, "0")
		if secs == 0 && nanos < 0 {
			s = "-" + s
		}
	}
	return s + "s"
}

func abs(n int64) int64 {
	if n < 0 {
		return -n
	}
	return n
}
