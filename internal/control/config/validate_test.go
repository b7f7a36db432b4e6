package config_test

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/configtest"
	"github.com/weftmesh/weft/internal/control/config/file"
)

var update = flag.Bool("update", false, "rewrite golden files")

// validationErrors parses a YAML file and returns every rejection as a string.
func validationErrors(t *testing.T, yaml string) []string {
	t.Helper()
	var out []string
	for _, d := range file.ParseFile("case.yaml", []byte(yaml), "default") {
		if d.Err != nil {
			out = append(out, d.Err.Error())
		}
	}
	return out
}

// TestValidateInvalid checks that each invalid object is rejected with the expected
// message; the messages are in testdata/invalid.golden (go test -update rewrites it).
func TestValidateInvalid(t *testing.T) {
	var got strings.Builder
	for _, tc := range configtest.Invalid {
		errs := validationErrors(t, tc.YAML)
		if len(errs) == 0 {
			t.Errorf("%s: accepted, want an error", tc.Name)
		}
		fmt.Fprintf(&got, "== %s\n", tc.Name)
		for _, e := range errs {
			fmt.Fprintf(&got, "%s\n", e)
		}
	}
	golden := filepath.Join("testdata", "invalid.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got.String()); diff != "" {
		t.Errorf("errors differ from %s (-want +got):\n%s", golden, diff)
	}
}

// TestValidateValid checks that valid objects, many from Istio's documentation, pass.
func TestValidateValid(t *testing.T) {
	for _, tc := range configtest.Valid {
		t.Run(tc.Name, func(t *testing.T) {
			if errs := validationErrors(t, tc.YAML); len(errs) > 0 {
				t.Errorf("rejected: %s", strings.Join(errs, "\n"))
			}
		})
	}
}

// TestValidationErrorFormat checks the message layout of a ValidationError.
func TestValidationErrorFormat(t *testing.T) {
	tests := []struct {
		err  config.ValidationError
		want string
	}{
		{config.ValidationError{File: "a.yaml", Document: 2, Line: 7, Kind: config.Gateway, Namespace: "ns", Name: "gw",
			Fields: []config.FieldError{{Path: "spec.servers", Reason: "x"}, {Reason: "y"}}},
			"a.yaml#2 (line 7): Gateway ns/gw: spec.servers: x; y"},
		{config.ValidationError{Kind: config.Sidecar, Namespace: "ns", Name: "s", Fields: []config.FieldError{{Path: "spec", Reason: "z"}}},
			"Sidecar ns/s: spec: z"},
		{config.ValidationError{File: "b.yaml"}, "b.yaml#0: invalid"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// TestValidateSpecMismatch checks that a missing spec, or a spec of another kind's
// type, is caught.
func TestValidateSpecMismatch(t *testing.T) {
	tests := []struct {
		c    config.Config
		want string
	}{
		{config.Config{Kind: config.VirtualService, Name: "x", Namespace: "ns"}, "VirtualService ns/x: spec: is required"},
		{config.Config{Kind: config.VirtualService, Name: "x", Namespace: "ns", Spec: &networking.DestinationRule{Host: "a"}},
			"VirtualService ns/x: spec: kind VirtualService wants a *v1alpha3.VirtualService spec, got *v1alpha3.DestinationRule"},
	}
	for _, tc := range tests {
		err := config.Validate(&tc.c)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Validate() = %v, want %q", err, tc.want)
		}
	}
}
