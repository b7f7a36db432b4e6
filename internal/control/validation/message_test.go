package validation_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/validation"
)

// TestMessageString: messages read as istioctl analyze prints them, the origin
// naming the object and, for files, the file, line and document.
func TestMessageString(t *testing.T) {
	tests := []struct {
		m    validation.Message
		want string
	}{
		{validation.Message{Level: validation.Error, Code: "IST0106", Kind: config.VirtualService, Namespace: "default", Name: "bad",
			File: "vs.yaml", Line: 12, Document: 2, Text: "Schema validation error: spec.hosts: at least one host is required"},
			"Error [IST0106] (VirtualService default/bad vs.yaml:12 #2) Schema validation error: spec.hosts: at least one host is required"},
		{validation.Message{Level: validation.Error, Code: "IST0101", Kind: config.VirtualService, Namespace: "default", Name: "reviews",
			Text: `Referenced gateway not found: "gw"`},
			`Error [IST0101] (VirtualService default/reviews) Referenced gateway not found: "gw"`},
		{validation.Message{Level: validation.Error, Code: "IST0106", File: "x.yaml", Line: 1, Text: "Schema validation error: invalid YAML"},
			"Error [IST0106] (x.yaml:1 #0) Schema validation error: invalid YAML"},
		{validation.Message{Level: validation.Warning, Code: "IST0106", Text: "t"}, "Warning [IST0106] t"},
	}
	for _, tc := range tests {
		if got := tc.m.String(); got != tc.want {
			t.Errorf("String() = %q\nwant       %q", got, tc.want)
		}
	}
}

// TestSchemaMessages: one IST0106 message per field, as Istio reports one per error.
func TestSchemaMessages(t *testing.T) {
	err := &config.ValidationError{File: "a.yaml", Document: 1, Line: 9, Kind: config.Gateway, Namespace: "ns", Name: "gw",
		Fields: []config.FieldError{{Path: "spec.servers[0].port", Reason: "is required"}, {Reason: "whole"}}}
	got := validation.Join(validation.SchemaMessages(err))
	want := "Error [IST0106] (Gateway ns/gw a.yaml:9 #1) Schema validation error: spec.servers[0].port: is required\n" +
		"Error [IST0106] (Gateway ns/gw a.yaml:9 #1) Schema validation error: whole"
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	got = validation.Join(validation.SchemaMessages(&config.ValidationError{Kind: config.Sidecar, Namespace: "ns", Name: "s"}))
	if want := "Error [IST0106] (Sidecar ns/s) Schema validation error: invalid"; got != want {
		t.Errorf("no fields: %q, want %q", got, want)
	}
}
