package admin

import (
	"github.com/cncf/xds/go/udpa/annotations"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/known/anypb"
)

// redacted replaces the value of sensitive string and bytes fields.
const redacted = "[redacted]"

// redact hides the fields marked (udpa.annotations.sensitive) in m, as Envoy's
// MessageUtil::redact does before a config dump is printed: below a sensitive field
// everything is sensitive; sensitive strings and bytes become "[redacted]", other
// sensitive scalars are cleared. Messages packed in Any are unpacked, redacted and
// packed again; an Any of a type weft does not know is left as it is. m is changed in
// place, so it must be a copy.
func redact(m protoreflect.Message, sensitive bool) {
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		sens := sensitive || isSensitive(fd)
		switch {
		case fd.IsMap():
			redactMap(m.Mutable(fd).Map(), fd, sens)
		case fd.IsList():
			redactList(m, fd, m.Mutable(fd).List(), sens)
		case fd.Message() != nil:
			if nv, ok := redactMessage(v.Message(), sens); ok {
				m.Set(fd, nv)
			}
		case sens:
			redactScalar(m, fd)
		}
		return true
	})
}

func isSensitive(fd protoreflect.FieldDescriptor) bool {
	opts, ok := fd.Options().(*descriptorpb.FieldOptions)
	if !ok || opts == nil {
		return false
	}
	s, _ := proto.GetExtension(opts, annotations.E_Sensitive).(bool)
	return s
}

// redactMessage redacts a message value; for an Any it returns the repacked value
// to store in its place.
func redactMessage(m protoreflect.Message, sensitive bool) (protoreflect.Value, bool) {
	a, ok := m.Interface().(*anypb.Any)
	if !ok {
		redact(m, sensitive)
		return protoreflect.Value{}, false
	}
	inner, err := a.UnmarshalNew()
	if err != nil {
		return protoreflect.Value{}, false
	}
	redact(inner.ProtoReflect(), sensitive)
	packed, err := anypb.New(inner)
	if err != nil {
		return protoreflect.Value{}, false
	}
	return protoreflect.ValueOfMessage(packed.ProtoReflect()), true
}

func redactList(m protoreflect.Message, fd protoreflect.FieldDescriptor, l protoreflect.List, sensitive bool) {
	if fd.Message() != nil {
		for i := 0; i < l.Len(); i++ {
			if nv, ok := redactMessage(l.Get(i).Message(), sensitive); ok {
				l.Set(i, nv)
			}
		}
		return
	}
	if !sensitive {
		return
	}
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		for i := 0; i < l.Len(); i++ {
			l.Set(i, redactedValue(fd))
		}
	default:
		m.Clear(fd)
	}
}

func redactMap(mp protoreflect.Map, fd protoreflect.FieldDescriptor, sensitive bool) {
	val := fd.MapValue()
	var keys []protoreflect.MapKey
	mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	for _, k := range keys {
		switch {
		case val.Message() != nil:
			if nv, ok := redactMessage(mp.Get(k).Message(), sensitive); ok {
				mp.Set(k, nv)
			}
		case sensitive && (val.Kind() == protoreflect.StringKind || val.Kind() == protoreflect.BytesKind):
			mp.Set(k, redactedValue(val))
		}
	}
}

func redactScalar(m protoreflect.Message, fd protoreflect.FieldDescriptor) {
	switch fd.Kind() {
	case protoreflect.StringKind, protoreflect.BytesKind:
		m.Set(fd, redactedValue(fd))
	default:
		m.Clear(fd)
	}
}

func redactedValue(fd protoreflect.FieldDescriptor) protoreflect.Value {
	if fd.Kind() == protoreflect.BytesKind {
		return protoreflect.ValueOfBytes([]byte(redacted))
	}
	return protoreflect.ValueOfString(redacted)
}
