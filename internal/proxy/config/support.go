package config

import (
	"fmt"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

var (
	mu        sync.RWMutex
	supported = map[protoreflect.FullName]map[protoreflect.Name]bool{}
)

// Support records that weft handles the named fields of m's message type. It is called
// from init functions; a field name the type does not have panics, since that is a bug
// in weft. Calling it again for the same type adds fields.
func Support(m proto.Message, fields ...string) {
	desc := m.ProtoReflect().Descriptor()
	mu.Lock()
	defer mu.Unlock()
	set, ok := supported[desc.FullName()]
	if !ok || set == nil {
		if ok { // already SupportAll
			return
		}
		set = map[protoreflect.Name]bool{}
		supported[desc.FullName()] = set
	}
	for _, f := range fields {
		if desc.Fields().ByName(protoreflect.Name(f)) == nil {
			panic(fmt.Sprintf("config.Support: %s has no field %q", desc.FullName(), f))
		}
		set[protoreflect.Name(f)] = true
	}
}

// SupportAll records that weft handles every field of m's message type.
func SupportAll(m proto.Message) {
	mu.Lock()
	defer mu.Unlock()
	supported[m.ProtoReflect().Descriptor().FullName()] = nil
}

// Supported reports whether field of the message type name is handled.
func Supported(name protoreflect.FullName, field protoreflect.Name) bool {
	mu.RLock()
	defer mu.RUnlock()
	set, ok := supported[name]
	return ok && (set == nil || set[field])
}

// leaves are message types that are values rather than config: always accepted.
var leaves = map[protoreflect.FullName]bool{
	"google.protobuf.Duration":    true,
	"google.protobuf.Timestamp":   true,
	"google.protobuf.Struct":      true,
	"google.protobuf.Value":       true,
	"google.protobuf.ListValue":   true,
	"google.protobuf.Empty":       true,
	"google.protobuf.BoolValue":   true,
	"google.protobuf.StringValue": true,
	"google.protobuf.BytesValue":  true,
	"google.protobuf.Int32Value":  true,
	"google.protobuf.Int64Value":  true,
	"google.protobuf.UInt32Value": true,
	"google.protobuf.UInt64Value": true,
	"google.protobuf.FloatValue":  true,
	"google.protobuf.DoubleValue": true,
}

// Check walks every field set in m and returns an error for the first one weft does not
// handle. Messages packed in Any are unpacked, validated and checked too.
func Check(m proto.Message) error {
	return check("", m.ProtoReflect())
}

// UnsupportedError says which field or extension weft does not handle.
type UnsupportedError struct {
	Path    string // field path, e.g. "static_resources.clusters[0].outlier_detection"
	TypeURL string // type URL of the message that holds the field, or of the extension
	Reason  string
}

func (e *UnsupportedError) Error() string {
	return fmt.Sprintf("%s: %s (%s)", e.Path, e.Reason, e.TypeURL)
}

func typeURL(d protoreflect.MessageDescriptor) string {
	return "type.googleapis.com/" + string(d.FullName())
}

func check(path string, m protoreflect.Message) error {
	desc := m.Descriptor()
	name := desc.FullName()
	if leaves[name] {
		return nil
	}
	if name == "google.protobuf.Any" {
		return checkAny(path, m)
	}
	mu.RLock()
	set, known := supported[name]
	mu.RUnlock()
	if !known {
		return &UnsupportedError{Path: orRoot(path), TypeURL: typeURL(desc), Reason: "message type not supported by weft"}
	}
	var err error
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := join(path, string(fd.Name()))
		if set != nil && !set[fd.Name()] {
			err = &UnsupportedError{Path: p, TypeURL: typeURL(desc), Reason: "field not supported by weft"}
			return false
		}
		err = checkValue(p, fd, v)
		return err == nil
	})
	return err
}

func checkValue(path string, fd protoreflect.FieldDescriptor, v protoreflect.Value) error {
	switch {
	case fd.IsList():
		if fd.Kind() != protoreflect.MessageKind && fd.Kind() != protoreflect.GroupKind {
			return nil
		}
		l := v.List()
		for i := 0; i < l.Len(); i++ {
			if err := check(path+"["+strconv.Itoa(i)+"]", l.Get(i).Message()); err != nil {
				return err
			}
		}
	case fd.IsMap():
		if fd.MapValue().Kind() != protoreflect.MessageKind {
			return nil
		}
		var err error
		v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
			err = check(path+"["+k.String()+"]", mv.Message())
			return err == nil
		})
		return err
	case fd.Kind() == protoreflect.MessageKind || fd.Kind() == protoreflect.GroupKind:
		return check(path, v.Message())
	}
	return nil
}

func checkAny(path string, m protoreflect.Message) error {
	a, ok := m.Interface().(*anypb.Any)
	if !ok {
		return fmt.Errorf("%s: Any of unexpected Go type %T", orRoot(path), m.Interface())
	}
	inner, err := a.UnmarshalNew()
	if err != nil {
		return &UnsupportedError{Path: orRoot(path), TypeURL: a.GetTypeUrl(), Reason: "extension not supported by weft: " + err.Error()}
	}
	if err := Validate(inner); err != nil {
		return fmt.Errorf("%s (%s): %w", orRoot(path), a.GetTypeUrl(), err)
	}
	return check(path, inner.ProtoReflect())
}

// Validate runs the message's generated validation (protoc-gen-validate), if it has one.
func Validate(m proto.Message) error {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		return v.ValidateAll()
	}
	if v, ok := m.(interface{ Validate() error }); ok {
		return v.Validate()
	}
	return nil
}

func join(path, field string) string {
	if path == "" {
		return field
	}
	return path + "." + field
}

func orRoot(path string) string {
	if path == "" {
		return "(root)"
	}
	return strings.TrimPrefix(path, ".")
}
