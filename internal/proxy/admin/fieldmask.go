package admin

import (
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// FieldMask handling for /config_dump?mask=, following protobuf's FieldMaskUtil as
// Envoy uses it: a mask is comma-separated dotted paths; a path is valid when every
// component but the last names a singular message field; trimming keeps only the
// fields on some path (a path that stops at a message keeps all of it).

const anyName protoreflect.FullName = "google.protobuf.Any"

// parseMask splits a FieldMask's text form into its paths.
func parseMask(s string) []string {
	var paths []string
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			paths = append(paths, p)
		}
	}
	return paths
}

// validPath reports whether path names fields of d.
func validPath(d protoreflect.MessageDescriptor, path string) bool {
	for _, name := range strings.Split(path, ".") {
		if name == "" {
			continue
		}
		if d == nil {
			return false
		}
		fd := d.Fields().ByName(protoreflect.Name(name))
		if fd == nil {
			return false
		}
		d = nil
		if fd.Message() != nil && !fd.IsList() && !fd.IsMap() {
			d = fd.Message()
		}
	}
	return true
}

// maskTree is a FieldMask as a tree of field names; a leaf (empty subtree) keeps its
// whole field.
type maskTree map[string]maskTree

func buildTree(paths []string) maskTree {
	root := maskTree{}
	for _, p := range paths {
		node := root
		parts := parseMaskPath(p)
		for i, part := range parts {
			child, ok := node[part]
			if ok && len(child) == 0 {
				break // a shorter path already keeps the whole field
			}
			if i == len(parts)-1 {
				node[part] = maskTree{}
				break
			}
			if !ok {
				child = maskTree{}
				node[part] = child
			}
			node = child
		}
	}
	return root
}

func parseMaskPath(p string) []string {
	var parts []string
	for _, s := range strings.Split(p, ".") {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return parts
}

// trim clears every field of m outside tree. An empty tree trims nothing.
func trim(m protoreflect.Message, tree maskTree) {
	if len(tree) == 0 {
		return
	}
	var drop []protoreflect.FieldDescriptor
	m.Range(func(fd protoreflect.FieldDescriptor, _ protoreflect.Value) bool {
		sub, ok := tree[string(fd.Name())]
		switch {
		case !ok:
			drop = append(drop, fd)
		case len(sub) > 0 && fd.Message() != nil && !fd.IsList() && !fd.IsMap():
			trim(m.Mutable(fd).Message(), sub)
		}
		return true
	})
	for _, fd := range drop {
		m.Clear(fd)
	}
}

// trimChecked trims m to paths and reports whether every path was valid for it;
// nothing is trimmed when one is not.
func trimChecked(m protoreflect.Message, paths []string) bool {
	for _, p := range paths {
		if !validPath(m.Descriptor(), p) {
			return false
		}
	}
	trim(m, buildTree(paths))
	return true
}

// trimResource trims one element of a config dump's repeated field. Paths that go
// through the element's Any field (such as "cluster.name" on a StaticCluster) are
// applied to the message packed in it, the rest to the element, as Envoy does. A
// path that names the Any field alone keeps all of it.
func trimResource(m protoreflect.Message, paths []string) bool {
	var outer, inner []string
	var anyField protoreflect.FieldDescriptor
	for _, p := range paths {
		head, rest, _ := strings.Cut(p, ".")
		fd := m.Descriptor().Fields().ByName(protoreflect.Name(head))
		if fd == nil || fd.IsList() || fd.Message() == nil || fd.Message().FullName() != anyName {
			outer = append(outer, p)
			continue
		}
		if anyField != nil && anyField != fd {
			return false // Envoy supports one Any field per resource
		}
		anyField = fd
		outer = append(outer, head)
		if rest != "" {
			inner = append(inner, rest)
		}
	}
	if anyField != nil && len(inner) > 0 && m.Has(anyField) {
		if !trimAny(m, anyField, inner) {
			return false
		}
	}
	return trimChecked(m, outer)
}

// trimAny unpacks the Any in field fd of m, trims it and packs it back.
func trimAny(m protoreflect.Message, fd protoreflect.FieldDescriptor, paths []string) bool {
	a, ok := m.Get(fd).Message().Interface().(*anypb.Any)
	if !ok {
		return false
	}
	inner, err := a.UnmarshalNew()
	if err != nil || !trimChecked(inner.ProtoReflect(), paths) {
		return false
	}
	packed, err := anypb.New(inner)
	if err != nil {
		return false
	}
	m.Set(fd, protoreflect.ValueOfMessage(packed.ProtoReflect()))
	return true
}
