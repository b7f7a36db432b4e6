package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// applyPatch applies add, remove and replace operations, as the API server does, so
// that tests can check a patch by its result.
func applyPatch(doc []byte, patch []byte) ([]byte, error) {
	var root any
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	if err := dec.Decode(&root); err != nil {
		return nil, err
	}
	var ops []struct {
		Op    string          `json:"op"`
		Path  string          `json:"path"`
		Value json.RawMessage `json:"value"`
	}
	if err := json.Unmarshal(patch, &ops); err != nil {
		return nil, err
	}
	for _, o := range ops {
		var v any
		if o.Op != "remove" {
			d := json.NewDecoder(bytes.NewReader(o.Value))
			d.UseNumber()
			if err := d.Decode(&v); err != nil {
				return nil, fmt.Errorf("%s %s: %w", o.Op, o.Path, err)
			}
		}
		var err error
		if root, err = applyOp(root, tokens(o.Path), o.Op, v); err != nil {
			return nil, fmt.Errorf("%s %s: %w", o.Op, o.Path, err)
		}
	}
	return json.Marshal(root)
}

func tokens(path string) []string {
	parts := strings.Split(path, "/")[1:]
	for i, p := range parts {
		parts[i] = strings.ReplaceAll(strings.ReplaceAll(p, "~1", "/"), "~0", "~")
	}
	return parts
}

func applyOp(node any, path []string, op string, v any) (any, error) {
	if len(path) == 0 {
		return v, nil
	}
	switch n := node.(type) {
	case map[string]any:
		k := path[0]
		if len(path) == 1 {
			_, exists := n[k]
			switch {
			case op == "remove" || op == "replace":
				if !exists {
					return nil, fmt.Errorf("no member %q", k)
				}
			case exists:
				// add replaces an existing member (RFC 6902 4.1)
			}
			if op == "remove" {
				delete(n, k)
			} else {
				n[k] = v
			}
			return n, nil
		}
		child, ok := n[k]
		if !ok {
			return nil, fmt.Errorf("no member %q", k)
		}
		c, err := applyOp(child, path[1:], op, v)
		n[k] = c
		return n, err
	case []any:
		i, err := strconv.Atoi(path[0])
		if err != nil || i < 0 || i >= len(n) {
			return nil, fmt.Errorf("bad index %q", path[0])
		}
		if len(path) == 1 && op == "replace" {
			n[i] = v
			return n, nil
		}
		if len(path) == 1 {
			return nil, fmt.Errorf("%s in arrays is not used by createPatch", op)
		}
		c, err := applyOp(n[i], path[1:], op, v)
		n[i] = c
		return n, err
	}
	return nil, fmt.Errorf("cannot descend into %T", node)
}

func TestCreatePatch(t *testing.T) {
	type obj map[string]any
	for _, tc := range []struct {
		name   string
		before any
		after  any
		want   string
	}{
		{"same", obj{"a": 1}, obj{"a": 1}, `[]`},
		{"add escaped key", obj{"m": obj{}}, obj{"m": obj{"sidecar.istio.io/status": "x", "a~b": 1}},
			`[{"op":"add","path":"/m/a~0b","value":1},{"op":"add","path":"/m/sidecar.istio.io~1status","value":"x"}]`},
		{"remove and replace", obj{"a": 1, "b": "x"}, obj{"b": "y"},
			`[{"op":"remove","path":"/a"},{"op":"replace","path":"/b","value":"y"}]`},
		{"array grows: replaced", obj{"l": []any{1}}, obj{"l": []any{0, 1}}, `[{"op":"replace","path":"/l","value":[0,1]}]`},
		{"array same length: by element", obj{"l": []any{obj{"n": 1}, 2}}, obj{"l": []any{obj{"n": 1, "m": nil}, 2}},
			`[{"op":"add","path":"/l/0/m","value":null}]`},
		{"large number kept", obj{"n": json.Number("9007199254740993")}, obj{"n": json.Number("9007199254740995")},
			`[{"op":"replace","path":"/n","value":9007199254740995}]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			patch, err := createPatch(tc.before, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			if string(patch) != tc.want {
				t.Errorf("patch %s\nwant  %s", patch, tc.want)
			}
			b, _ := json.Marshal(tc.before)
			a, _ := json.Marshal(tc.after)
			got, err := applyPatch(b, patch)
			if err != nil {
				t.Fatal(err)
			}
			var gotV, wantV any
			json.Unmarshal(got, &gotV)
			json.Unmarshal(a, &wantV)
			if d := cmp.Diff(wantV, gotV); d != "" {
				t.Errorf("applied patch (-want +got):\n%s", d)
			}
		})
	}
}
