package runtime

import (
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

// ErrNoAdminLayer is returned by Modify when the runtime has no admin_layer.
var ErrNoAdminLayer = errors.New("no admin layer specified")

// Store is a layered runtime. Reads are lock-free: they load the current snapshot,
// which Modify replaces as a whole. A Store is safe for concurrent use.
type Store struct {
	mu    sync.Mutex // serialises Modify
	admin int        // index of the admin layer, or -1
	snap  atomic.Pointer[snapshot]
}

// snapshot is an immutable view of every layer and of the merged values.
type snapshot struct {
	layers []layer
	values map[string]*entry
}

// layer is one named layer's values.
type layer struct {
	name   string
	values map[string]entry
}

// New builds a runtime from the bootstrap's layered_runtime. A nil or empty one is
// Envoy's null runtime: no layers, every read returns its default, and Modify fails.
func New(lr *bootstrapv3.LayeredRuntime) (*Store, error) {
	s := &Store{admin: -1}
	var layers []layer
	seen := map[string]bool{}
	for i, l := range lr.GetLayers() {
		if seen[l.GetName()] {
			return nil, fmt.Errorf("layered_runtime.layers[%d]: duplicate layer name %q", i, l.GetName())
		}
		seen[l.GetName()] = true
		built, err := buildLayer(l)
		if err != nil {
			return nil, fmt.Errorf("layered_runtime.layers[%d] (%q): %w", i, l.GetName(), err)
		}
		if l.GetAdminLayer() != nil {
			if s.admin >= 0 {
				return nil, fmt.Errorf("layered_runtime.layers[%d] (%q): too many admin layers, at most one may be specified", i, l.GetName())
			}
			s.admin = i
		}
		layers = append(layers, built)
	}
	s.snap.Store(newSnapshot(layers))
	return s, nil
}

func buildLayer(l *bootstrapv3.RuntimeLayer) (layer, error) {
	out := layer{name: l.GetName(), values: map[string]entry{}}
	switch spec := l.GetLayerSpecifier().(type) {
	case *bootstrapv3.RuntimeLayer_StaticLayer:
		for k, v := range spec.StaticLayer.GetFields() {
			if err := flatten(out.values, k, v); err != nil {
				return layer{}, fmt.Errorf("static_layer: %w", err)
			}
		}
	case *bootstrapv3.RuntimeLayer_AdminLayer_:
	case *bootstrapv3.RuntimeLayer_DiskLayer_:
		return layer{}, errors.New("disk_layer is not supported by weft")
	case *bootstrapv3.RuntimeLayer_RtdsLayer_:
		return layer{}, errors.New("rtds_layer is not supported by weft")
	default:
		return layer{}, errors.New("layer specifier not set")
	}
	return out, nil
}

// newSnapshot merges the layers: a later layer's value replaces an earlier one's.
func newSnapshot(layers []layer) *snapshot {
	s := &snapshot{layers: layers, values: map[string]*entry{}}
	for i := range layers {
		for k := range layers[i].values {
			e := layers[i].values[k]
			s.values[k] = &e
		}
	}
	return s
}

func (s *Store) lookup(key string) *entry {
	if s == nil || key == "" {
		return nil
	}
	return s.snap.Load().values[key]
}

// Get returns the raw string value of key and whether it is set.
func (s *Store) Get(key string) (string, bool) {
	e := s.lookup(key)
	if e == nil {
		return "", false
	}
	return e.raw, true
}

// Uint returns key as an unsigned integer, or def when it is unset or not a
// non-negative number. Fractions are truncated, as in Envoy's getInteger.
func (s *Store) Uint(key string, def uint64) uint64 {
	if e := s.lookup(key); e != nil && e.hasU {
		return e.u
	}
	return def
}

// Double returns key as a number, or def when it is unset or not a number.
func (s *Store) Double(key string, def float64) float64 {
	if e := s.lookup(key); e != nil && e.hasD {
		return e.d
	}
	return def
}

// Bool returns key as a boolean, or def when it is unset or not a boolean. Integral
// numbers count: non-zero is true.
func (s *Store) Bool(key string, def bool) bool {
	if e := s.lookup(key); e != nil && e.hasB {
		return e.b
	}
	return def
}

// FeatureEnabled evaluates a runtime_fraction with Envoy's semantics: the value of key
// as a fractional percent, or as an integer percent out of 100 (above 100 is always
// enabled), else def; the feature is enabled when random % denominator < numerator.
func (s *Store) FeatureEnabled(key string, def Fraction, random uint64) bool {
	f := def
	if e := s.lookup(key); e != nil {
		switch {
		case e.hasFrac:
			f = e.frac
		case e.hasU:
			if e.u > 100 {
				return true
			}
			f = Percent(uint32(e.u))
		}
	}
	return f.Enabled(random)
}

// Modify sets admin-layer overrides, as /runtime_modify does: each value is parsed
// as YAML, and an empty value deletes the key's override. It fails with
// ErrNoAdminLayer when the runtime has no admin layer, and changes nothing when a
// value does not parse.
func (s *Store) Modify(kv map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.admin < 0 {
		return ErrNoAdminLayer
	}
	old := s.snap.Load()
	layers := append([]layer(nil), old.layers...)
	admin := layer{name: layers[s.admin].name, values: maps.Clone(layers[s.admin].values)}
	for k, v := range kv {
		if v == "" {
			delete(admin.values, k)
			continue
		}
		e, err := parseAdminValue(v)
		if err != nil {
			return fmt.Errorf("runtime key %q: %w", k, err)
		}
		admin.values[k] = e
	}
	layers[s.admin] = admin
	s.snap.Store(newSnapshot(layers))
	return nil
}

// AdminOverrides reports how many keys the admin layer overrides.
func (s *Store) AdminOverrides() int {
	if s.admin < 0 {
		return 0
	}
	return len(s.snap.Load().layers[s.admin].values)
}

// Dump returns the runtime as Envoy's admin /runtime prints it:
//
//	{"layers": ["static", "admin"],
//	 "entries": {"key": {"final_value": "v", "layer_values": ["", "v"]}}}
//
// layer_values holds each layer's raw value ("" where the layer does not set the key)
// and final_value the last non-empty one.
func (s *Store) Dump() *structpb.Struct {
	snap := s.snap.Load()
	names := make([]*structpb.Value, len(snap.layers))
	for i, l := range snap.layers {
		names[i] = structpb.NewStringValue(l.name)
	}
	entries := &structpb.Struct{Fields: make(map[string]*structpb.Value, len(snap.values))}
	for k := range snap.values {
		vals := make([]*structpb.Value, len(snap.layers))
		final := ""
		for i, l := range snap.layers {
			v := l.values[k].raw
			if v != "" {
				final = v
			}
			vals[i] = structpb.NewStringValue(v)
		}
		entries.Fields[k] = structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
			"final_value":  structpb.NewStringValue(final),
			"layer_values": structpb.NewListValue(&structpb.ListValue{Values: vals}),
		}})
	}
	return &structpb.Struct{Fields: map[string]*structpb.Value{
		"layers":  structpb.NewListValue(&structpb.ListValue{Values: names}),
		"entries": structpb.NewStructValue(entries),
	}}
}
