package routecheck

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// textFormat prints m in protobuf text format the way C++'s TextFormat does: fields in
// field-number order, one per line, nested messages in braces indented by two spaces.
// Envoy's tool prints route matches so; Go's prototext deliberately varies its spacing.
func textFormat(m proto.Message) string {
	var b strings.Builder
	writeMessage(&b, m.ProtoReflect(), "")
	return b.String()
}

func writeMessage(b *strings.Builder, m protoreflect.Message, indent string) {
	var fields []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		fields = append(fields, fd)
		return true
	})
	sort.Slice(fields, func(i, j int) bool { return fields[i].Number() < fields[j].Number() })
	for _, fd := range fields {
		v := m.Get(fd)
		switch {
		case fd.IsList():
			for i := 0; i < v.List().Len(); i++ {
				writeField(b, fd, v.List().Get(i), indent)
			}
		case fd.IsMap():
			writeMap(b, fd, v.Map(), indent)
		default:
			writeField(b, fd, v, indent)
		}
	}
}

func writeMap(b *strings.Builder, fd protoreflect.FieldDescriptor, m protoreflect.Map, indent string) {
	var keys []protoreflect.MapKey
	m.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
		keys = append(keys, k)
		return true
	})
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	for _, k := range keys {
		b.WriteString(indent + string(fd.Name()) + " {\n")
		writeField(b, fd.MapKey(), k.Value(), indent+"  ")
		writeField(b, fd.MapValue(), m.Get(k), indent+"  ")
		b.WriteString(indent + "}\n")
	}
}

func writeField(b *strings.Builder, fd protoreflect.FieldDescriptor, v protoreflect.Value, indent string) {
	name := string(fd.Name())
	if fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind {
		b.WriteString(indent + name + " {\n")
		writeMessage(b, v.Message(), indent+"  ")
		b.WriteString(indent + "}\n")
		return
	}
	b.WriteString(indent + name + ": " + scalar(fd, v) + "\n")
}

func scalar(fd protoreflect.FieldDescriptor, v protoreflect.Value) string {
	switch fd.Kind() {
	case protoreflect.StringKind:
		return quote(v.String())
	case protoreflect.BytesKind:
		return quote(string(v.Bytes()))
	case protoreflect.EnumKind:
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name())
		}
		return strconv.Itoa(int(v.Enum()))
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	}
	return v.String()
}

// quote escapes s as C++'s TextFormat does (C escapes, octal for other bytes).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '"':
			b.WriteString(`\"`)
		case '\'':
			b.WriteString(`\'`)
		case '\\':
			b.WriteString(`\\`)
		default:
			if c < 0x20 || c >= 0x7f {
				fmt.Fprintf(&b, `\%03o`, c)
				continue
			}
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}
