package routecheck

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// Validation is a router check test file (validation.proto's Validation).
type Validation struct {
	Tests []Item `json:"tests"`
}

// Item is one test case (ValidationItem).
type Item struct {
	TestName string  `json:"test_name"`
	Input    *Input  `json:"input"`
	Validate *Assert `json:"validate"`
}

// Input describes the request sent to the router (ValidationInput).
type Input struct {
	Authority                 string            `json:"authority"`
	Path                      string            `json:"path"`
	Method                    string            `json:"method"`
	RandomValue               Uint              `json:"random_value"`
	SSL                       bool              `json:"ssl"`
	Internal                  bool              `json:"internal"`
	AdditionalRequestHeaders  []HeaderValue     `json:"additional_request_headers"`
	AdditionalResponseHeaders []HeaderValue     `json:"additional_response_headers"`
	DynamicMetadata           []json.RawMessage `json:"dynamic_metadata"`
	Runtime                   string            `json:"runtime"`
}

// HeaderValue is an envoy.config.core.v3.HeaderValue.
type HeaderValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Assert lists the expected results (ValidationAssert). A nil field is not checked.
type Assert struct {
	ClusterName           *string           `json:"cluster_name"`
	VirtualClusterName    *string           `json:"virtual_cluster_name"`
	VirtualHostName       *string           `json:"virtual_host_name"`
	HostRewrite           *string           `json:"host_rewrite"`
	PathRewrite           *string           `json:"path_rewrite"`
	PathRedirect          *string           `json:"path_redirect"`
	CodeRedirect          *Uint             `json:"code_redirect"`
	RequestHeaderFields   []HeaderValue     `json:"request_header_fields"`
	ResponseHeaderFields  []HeaderValue     `json:"response_header_fields"`
	RequestHeaderMatches  []json.RawMessage `json:"request_header_matches"`
	ResponseHeaderMatches []json.RawMessage `json:"response_header_matches"`
}

// Uint is an unsigned integer that proto JSON may write as a number or a string.
type Uint uint64

// UnmarshalJSON accepts 42 and "42".
func (u *Uint) UnmarshalJSON(b []byte) error {
	s := string(bytes.Trim(b, `"`))
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid unsigned integer %s", b)
	}
	*u = Uint(n)
	return nil
}

// LoadTests reads and validates a test file.
func LoadTests(path string) (*Validation, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	v, err := ParseTests(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// ParseTests parses a test file given as proto JSON or YAML. It is parsed as YAML so
// that what Envoy's JSON parser tolerates, such as a trailing comma, is accepted too, and
// field names may be the proto names (test_name) or their JSON names (testName).
func ParseTests(data []byte) (*Validation, error) {
	js, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, fmt.Errorf("parse tests: %w", err)
	}
	if js, err = snakeCaseKeys(js); err != nil {
		return nil, fmt.Errorf("parse tests: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	v := &Validation{}
	if err := dec.Decode(v); err != nil {
		return nil, fmt.Errorf("parse tests: %w", err)
	}
	if err := v.validate(); err != nil {
		return nil, fmt.Errorf("invalid tests: %w", err)
	}
	return v, nil
}

// validate applies validation.proto's constraints.
func (v *Validation) validate() error {
	if len(v.Tests) == 0 {
		return errors.New("tests: at least one test is required")
	}
	for i, it := range v.Tests {
		field := "tests[" + strconv.Itoa(i) + "]"
		switch {
		case it.TestName == "":
			return fmt.Errorf("%s.test_name: must not be empty", field)
		case it.Input == nil:
			return fmt.Errorf("%s.input: is required", field)
		case it.Validate == nil:
			return fmt.Errorf("%s.validate: is required", field)
		case it.Input.Authority == "":
			return fmt.Errorf("%s.input.authority: must not be empty", field)
		case it.Input.Path == "":
			return fmt.Errorf("%s.input.path: must not be empty", field)
		case len(it.Input.Method) < 3:
			return fmt.Errorf("%s.input.method: must be at least 3 characters", field)
		}
	}
	return nil
}

// snakeCaseKeys rewrites lowerCamelCase field names to the proto names the structs use.
// Dynamic metadata values are user data and keep their keys.
func snakeCaseKeys(js []byte) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return json.Marshal(renameKeys(v, ""))
}

func renameKeys(v any, parent string) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, val := range t {
			k = snakeCase(k)
			if parent == "dynamic_metadata" && (k == "value" || k == "typed_value") {
				out[k] = val
				continue
			}
			out[k] = renameKeys(val, k)
		}
		return out
	case []any:
		for i := range t {
			t[i] = renameKeys(t[i], parent)
		}
	}
	return v
}

func snakeCase(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			b.WriteByte('_')
			b.WriteByte(c + 'a' - 'A')
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
