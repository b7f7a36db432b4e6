package validation

import (
	"github.com/weftmesh/weft/internal/control/config"
)

// Object is one Istio object to analyze: valid (Config set) or rejected by validation
// (Err set).
type Object struct {
	Config *config.Config
	Err    *config.ValidationError
	// File, Line and Document say where a valid object was read (an Err carries its
	// own); File is empty for the cluster's objects.
	File     string
	Line     int
	Document int
}

// key returns the object's "Kind/namespace/name".
func (o Object) key() string {
	if o.Config != nil {
		return o.Config.Key()
	}
	return string(o.Err.Kind) + "/" + o.Err.Namespace + "/" + o.Err.Name
}

// Analyze returns the messages for a set of objects, object by object in the order
// given: the IST0106 messages of each rejected object, and the IST0101 messages of
// each valid one whose references (a VirtualService's gateways, its destinations'
// subsets) name nothing among the valid objects. The domain suffix resolves short
// hosts ("reviews" in default is reviews.default.svc.<suffix>).
func Analyze(objs []Object, domainSuffix string) []Message {
	idx := newIndex(objs, domainSuffix)
	var out []Message
	for _, o := range objs {
		if o.Err != nil {
			out = append(out, SchemaMessages(o.Err)...)
			continue
		}
		for _, text := range idx.references(o.Config) {
			out = append(out, Message{Level: Error, Code: CodeReferencedResourceNotFound, Kind: o.Config.Kind,
				Namespace: o.Config.Namespace, Name: o.Config.Name, File: o.File, Line: o.Line,
				Document: o.Document, Text: text})
		}
	}
	return out
}

// Merge returns the objects of base and over, over's winning where both have an object
// of the same kind, namespace and name: files given to weft analyze are checked in
// place of the cluster's objects they would replace. over's objects come first.
func Merge(over, base []Object) []Object {
	seen := map[string]bool{}
	out := make([]Object, 0, len(over)+len(base))
	for _, o := range over {
		seen[o.key()] = true
		out = append(out, o)
	}
	for _, o := range base {
		if !seen[o.key()] {
			out = append(out, o)
		}
	}
	return out
}

// Errors counts the messages of level Error.
func Errors(msgs []Message) int {
	n := 0
	for _, m := range msgs {
		if m.Level == Error {
			n++
		}
	}
	return n
}
