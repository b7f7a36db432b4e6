package config

import (
	"fmt"
	"strings"
)

// FieldError is one problem with one field of a config object.
type FieldError struct {
	// Path is the field's path in the object, as written in YAML: "spec.http[0].route[1].weight",
	// "spec.http[0].match[0].headers[end-user].regex". Empty for problems with the whole document.
	Path string
	// Reason says what is wrong, in lower case.
	Reason string
}

// Error returns "path: reason".
func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Reason
	}
	return e.Path + ": " + e.Reason
}

// ValidationError says why a config object was rejected: where it came from, which
// object it is, and every field that is wrong.
type ValidationError struct {
	// File is the file the object came from; empty for objects not read from files.
	File string
	// Document is the index of the object's YAML document in File, from 0.
	Document int
	// Line is the first line of the document in File, from 1; 0 when unknown.
	Line int
	// Kind, Namespace and Name identify the object, as far as they could be read.
	Kind      Kind
	Namespace string
	Name      string
	// Fields lists the problems, in the order of the fields in the object.
	Fields []FieldError
}

// Error returns "file#doc (line n): Kind namespace/name: path: reason; path: reason".
func (e *ValidationError) Error() string {
	var b strings.Builder
	if e.File != "" {
		fmt.Fprintf(&b, "%s#%d", e.File, e.Document)
		if e.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
		b.WriteString(": ")
	}
	if e.Kind != "" || e.Name != "" {
		if e.Kind != "" {
			b.WriteString(string(e.Kind))
			b.WriteString(" ")
		}
		b.WriteString(e.Namespace + "/" + e.Name)
		b.WriteString(": ")
	}
	for i, f := range e.Fields {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(f.Error())
	}
	if len(e.Fields) == 0 {
		b.WriteString("invalid")
	}
	return b.String()
}

// Source returns "file#doc", the value of Config.Source for objects read from files.
func (e *ValidationError) Source() string {
	if e.File == "" {
		return ""
	}
	return fmt.Sprintf("%s#%d", e.File, e.Document)
}

// fieldErrors collects the problems found while validating one object.
type fieldErrors []FieldError

// add records a problem at path.
func (fe *fieldErrors) add(path, format string, args ...any) {
	*fe = append(*fe, FieldError{Path: path, Reason: fmt.Sprintf(format, args...)})
}

// check records err, if any, at path.
func (fe *fieldErrors) check(path string, err error) {
	if err != nil {
		*fe = append(*fe, FieldError{Path: path, Reason: err.Error()})
	}
}

// field returns the path of a field under path.
func field(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// index returns the path of a list element.
func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// key returns the path of a map value.
func key(path, k string) string { return path + "[" + k + "]" }
