package validation

import (
	"fmt"
	"strings"

	"github.com/weftmesh/weft/internal/control/config"
)

// Level is a message's severity, as Istio names it.
type Level string

// The levels. Only Error makes weft analyze fail.
const (
	Error   Level = "Error"
	Warning Level = "Warning"
	Info    Level = "Info"
)

// The Istio analysis message codes weft reports.
const (
	// CodeReferencedResourceNotFound: a resource named by another does not exist.
	CodeReferencedResourceNotFound = "IST0101"
	// CodeSchemaValidationError: the resource fails validation.
	CodeSchemaValidationError = "IST0106"
)

// Message is one problem with one object, as istioctl analyze reports it.
type Message struct {
	Level Level
	// Code is Istio's analysis message code: "IST0106".
	Code string
	// Kind, Namespace and Name identify the object; all empty for a document that is
	// not an object.
	Kind      config.Kind
	Namespace string
	Name      string
	// File, Line and Document say where the object was read; File is empty for objects
	// not read from files (the cluster's, the webhook's).
	File     string
	Line     int
	Document int
	// Text is the message itself: "Schema validation error: spec.hosts: ...".
	Text string
}

// String formats the message as istioctl analyze prints it:
// "Error [IST0106] (VirtualService default/bad vs.yaml:12 #2) Schema validation error: ...".
// The origin in parentheses is the object, then, for objects read from files, the
// file and line of its document and the document's index in the file ("#2", from 0,
// as in weft's other messages).
func (m Message) String() string {
	var origin []string
	if m.Kind != "" || m.Name != "" {
		origin = append(origin, strings.TrimSpace(string(m.Kind)+" "+m.Namespace+"/"+m.Name))
	}
	if m.File != "" {
		origin = append(origin, fmt.Sprintf("%s:%d #%d", m.File, m.Line, m.Document))
	}
	s := fmt.Sprintf("%s [%s]", m.Level, m.Code)
	if len(origin) > 0 {
		s += " (" + strings.Join(origin, " ") + ")"
	}
	return s + " " + m.Text
}

// SchemaMessages returns the IST0106 messages for an object that failed validation:
// one per field that is wrong, in the order of the fields, as Istio reports one per
// error.
func SchemaMessages(err *config.ValidationError) []Message {
	base := Message{Level: Error, Code: CodeSchemaValidationError, Kind: err.Kind, Namespace: err.Namespace,
		Name: err.Name, File: err.File, Line: err.Line, Document: err.Document}
	if len(err.Fields) == 0 {
		base.Text = "Schema validation error: invalid"
		return []Message{base}
	}
	out := make([]Message, len(err.Fields))
	for i, f := range err.Fields {
		out[i] = base
		out[i].Text = "Schema validation error: " + f.Error()
	}
	return out
}

// Join formats messages one per line, the text the webhook denies an object with.
func Join(msgs []Message) string {
	lines := make([]string, len(msgs))
	for i, m := range msgs {
		lines[i] = m.String()
	}
	return strings.Join(lines, "\n")
}
