package webhook

import (
	"bytes"
	"encoding/json"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// operation is one RFC 6902 JSON patch operation.
type operation struct {
	Op    string
	Path  string
	Value any
}

// MarshalJSON writes the value for add and replace only, null included.
func (o operation) MarshalJSON() ([]byte, error) {
	if o.Op == "remove" {
		return json.Marshal(struct {
			Op   string `json:"op"`
			Path string `json:"path"`
		}{o.Op, o.Path})
	}
	return json.Marshal(struct {
		Op    string `json:"op"`
		Path  string `json:"path"`
		Value any    `json:"value"`
	}{o.Op, o.Path, o.Value})
}

// createPatch returns the JSON patch that turns before into after. Both go through
// the same Go types, so fields those types do not know, absent from both, are never
// touched.
func createPatch(before, after any) ([]byte, error) {
	a, err := toJSONValue(before)
	if err != nil {
		return nil, err
	}
	b, err := toJSONValue(after)
	if err != nil {
		return nil, err
	}
	ops := []operation{}
	diff("", a, b, &ops)
	return json.Marshal(ops)
}

func toJSONValue(v any) (any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var out any
	err = dec.Decode(&out)
	return out, err
}

// diff appends the operations from a to b at path: objects key by key, arrays of
// the same length element by element, anything else replaced whole.
func diff(path string, a, b any, ops *[]operation) {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		for _, k := range slices.Sorted(maps.Keys(am)) {
			if _, ok := bm[k]; !ok {
				*ops = append(*ops, operation{Op: "remove", Path: path + "/" + escape(k)})
			}
		}
		for _, k := range slices.Sorted(maps.Keys(bm)) {
			if av, ok := am[k]; ok {
				diff(path+"/"+escape(k), av, bm[k], ops)
			} else {
				*ops = append(*ops, operation{Op: "add", Path: path + "/" + escape(k), Value: bm[k]})
			}
		}
		return
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok && len(al) == len(bl) {
		for i := range al {
			diff(path+"/"+strconv.Itoa(i), al[i], bl[i], ops)
		}
		return
	}
	if !reflect.DeepEqual(a, b) {
		*ops = append(*ops, operation{Op: "replace", Path: path, Value: b})
	}
}

// escape encodes a key as a JSON pointer token (RFC 6901).
func escape(k string) string {
	return strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")
}
