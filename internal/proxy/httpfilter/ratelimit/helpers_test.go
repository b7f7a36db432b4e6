package ratelimit

import (
	"context"
	"errors"
	"io"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	lrlv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/stats"
)

// recorder is a ResponseWriter that keeps what was sent.
type recorder struct {
	head *header.Map
	body []byte
}

func (r *recorder) WriteHeaders(h *header.Map, end bool) error {
	c := h.Clone()
	r.head = &c
	return nil
}
func (r *recorder) Write(p []byte) (int, error)     { r.body = append(r.body, p...); return len(p), nil }
func (r *recorder) Flush() error                    { return nil }
func (r *recorder) End(*header.Map) error           { return nil }
func (r *recorder) Reset()                          {}
func (r *recorder) Upgrade() (io.ReadWriter, error) { return nil, errors.New("no upgrade") }

func (r *recorder) get(name string) string {
	if r.head == nil {
		return ""
	}
	return r.head.Get(name)
}

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// harness runs one filter on a fake clock.
type harness struct {
	f     *Filter
	stats *stats.Store
	clock *fakeClock
}

func parseConfig(t *testing.T, yaml string) *lrlv3.LocalRateLimit {
	t.Helper()
	cfg := &lrlv3.LocalRateLimit{}
	if err := config.Unmarshal([]byte(yaml), cfg); err != nil {
		t.Fatal(err)
	}
	if err := config.Validate(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func newHarness(t *testing.T, yaml string, rt *runtime.Store) *harness {
	t.Helper()
	h := &harness{stats: stats.NewStore(), clock: &fakeClock{}}
	h.clock.t.Store(int64(time.Hour))
	f, err := newFilter(parseConfig(t, yaml), &httpfilter.Deps{Stats: h.stats, StatPrefix: "http.in.", Runtime: rt}, h.clock.now)
	if err != nil {
		t.Fatal(err)
	}
	f.random = func() uint64 { return 0 }
	h.f = f
	return h
}

// run sends a request with headers kv through the filter and, when it continues,
// answers it with 200 as the router would, so the encoders run.
func (h *harness) run(rt *route.Entry, kv ...string) (httpfilter.Status, *httpfilter.Stream, *recorder) {
	s := &httpfilter.Stream{}
	w := &recorder{}
	s.Init(context.Background(), w, []httpfilter.Encoder{h.f}, httpfilter.Server{}, nil)
	s.Request = header.Of(append([]string{":method", "GET", ":path", "/", ":authority", "svc"}, kv...)...)
	s.Info.Downstream.RemoteAddress = netip.MustParseAddrPort("10.1.2.3:5555")
	s.Route = rt
	st := h.f.DecodeHeaders(s)
	if st == httpfilter.Continue {
		resp := s.ResponseHeaders()
		resp.Reset()
		resp.Add(header.Status, "200")
		s.SendHeaders(resp, true)
	}
	h.f.OnStreamComplete(s)
	return st, s, w
}

func (h *harness) counter(name string) uint64 { return h.stats.Counter(name).Value() }

// runtimeOf builds a runtime whose static layer is the YAML map given.
func runtimeOf(t *testing.T, static string) *runtime.Store {
	t.Helper()
	lr := &bootstrapv3.LayeredRuntime{}
	if err := config.Unmarshal([]byte("layers: [{name: static, static_layer: "+static+"}]"), lr); err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(lr)
	if err != nil {
		t.Fatal(err)
	}
	return rt
}

// routeTable compiles a route configuration, parsing typed_per_filter_config through
// the registry as the connection manager does.
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
