package fault

import (
	"context"
	"errors"
	"io"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	faultv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/fault/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/stats"
)

// recorder is a ResponseWriter that keeps what the filter sent.
type recorder struct {
	head  *header.Map
	body  []byte
	ended bool
	reset bool
}

func (r *recorder) WriteHeaders(h *header.Map, end bool) error {
	c := h.Clone()
	r.head, r.ended = &c, end
	return nil
}
func (r *recorder) Write(p []byte) (int, error)     { r.body = append(r.body, p...); return len(p), nil }
func (r *recorder) Flush() error                    { return nil }
func (r *recorder) End(*header.Map) error           { r.ended = true; return nil }
func (r *recorder) Reset()                          { r.reset = true }
func (r *recorder) Upgrade() (io.ReadWriter, error) { return nil, errors.New("no upgrade") }

// status returns the sent :status, 0 when nothing was sent.
func (r *recorder) status() string {
	if r.head == nil {
		return ""
	}
	return r.head.Get(header.Status)
}

// harness runs one filter with a stats store, runtime and deterministic randomness.
type harness struct {
	f      *Filter
	stats  *stats.Store
	waited []time.Duration
	draws  []uint64 // the values random returns, in turn; 0 once used up
}

func newHarness(t *testing.T, yaml string, rt *runtime.Store) *harness {
	t.Helper()
	cfg := &faultv3.HTTPFault{}
	if err := config.Unmarshal([]byte(yaml), cfg); err != nil {
		t.Fatal(err)
	}
	h := &harness{stats: stats.NewStore()}
	f, err := New(cfg, &httpfilter.Deps{Stats: h.stats, StatPrefix: "http.in.", Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	f.random = func() uint64 {
		if len(h.draws) == 0 {
			return 0
		}
		v := h.draws[0]
		h.draws = h.draws[1:]
		return v
	}
	f.wait = func(ctx context.Context, d time.Duration) bool {
		h.waited = append(h.waited, d)
		return ctx.Err() == nil
	}
	h.f = f
	return h
}

// run sends a request with the given headers (name, value pairs) through the filter.
func (h *harness) run(ctx context.Context, rt *route.Entry, kv ...string) (httpfilter.Status, *httpfilter.Stream, *recorder) {
	s := &httpfilter.Stream{}
	w := &recorder{}
	if ctx == nil {
		ctx = context.Background()
	}
	s.Init(ctx, w, nil, httpfilter.Server{}, nil)
	s.Request = header.Of(append([]string{":method", "GET", ":path", "/", ":authority", "svc"}, kv...)...)
	s.Route = rt
	return h.f.DecodeHeaders(s), s, w
}

func (h *harness) counter(name string) uint64 {
	return h.stats.Counter("http.in.fault." + name).Value()
}

// runtimeOf builds a runtime whose static layer is the YAML map given.
func runtimeOf(t *testing.T, static string) *runtime.Store {
	t.Helper()
	lr := &bootstrapv3.LayeredRuntime{}
	y := "layers: [{name: static, static_layer: " + static + "}]"
	if err := config.Unmarshal([]byte(y), lr); err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(lr)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// routeTable compiles a route configuration whose typed_per_filter_config goes through
// the registry, as the connection manager does.
func routeTable(t *testing.T, yaml string) *route.Table {
	t.Helper()
	rc := &routev3.RouteConfiguration{}
	if err := config.Unmarshal([]byte(yaml), rc); err != nil {
		t.Fatal(err)
	}
	tbl, err := route.New(rc, route.Options{ParseFilterConfig: func(name string, a *anypb.Any) (any, error) {
		reg, ok := httpfilter.LookupName(name)
		if !ok || reg.PerRoute == nil {
			return nil, errors.New("no per-route config for " + name)
		}
		return reg.PerRoute(a)
	}})
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func match(tbl *route.Table, path string) *route.Entry {
	h := header.Of(":method", "GET", ":path", path, ":authority", "svc")
	return tbl.Match(&h, nil, 0)
}

func newSettingsYAML(t *testing.T, yaml string) (*Settings, error) {
	t.Helper()
	cfg := &faultv3.HTTPFault{}
	if err := config.Unmarshal([]byte(yaml), cfg); err != nil {
		t.Fatal(err)
	}
	return NewSettings(cfg)
}
