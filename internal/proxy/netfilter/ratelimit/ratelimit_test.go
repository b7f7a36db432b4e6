package ratelimit

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	lrlv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/local_ratelimit/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/stats"
)

type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }

// setup builds the filter in front of a handler that counts the connections it serves.
func setup(t *testing.T, yaml string, rt *runtime.Store) (*Limiter, *fakeClock, *atomic.Int64, *stats.Store, error) {
	t.Helper()
	cfg := &lrlv3.LocalRateLimit{}
	if err := config.Unmarshal([]byte(yaml), cfg); err != nil {
		t.Fatal(err)
	}
	served := &atomic.Int64{}
	next := netfilter.HandlerFunc(func(_ context.Context, c *netfilter.Conn) {
		served.Add(1)
		c.Write([]byte("hi"))
		c.Close()
	})
	clock := &fakeClock{}
	st := stats.NewStore()
	l, err := New(cfg, &netfilter.Deps{Stats: st, Runtime: rt}, next, clock.now)
	return l, clock, served, st, err
}

// connect serves one connection and reports whether the rest of the chain served it
// (the peer read its greeting) rather than the connection being closed at once.
func connect(t *testing.T, l *Limiter) (served bool) {
	t.Helper()
	a, b := net.Pipe()
	defer b.Close()
	go l.ServeConn(context.Background(), &netfilter.Conn{Conn: a})
	b.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := b.Read(make([]byte, 2))
	if err != nil && strings.Contains(err.Error(), "deadline") {
		t.Fatal("connection neither served nor closed")
	}
	return n > 0
}

func TestConnectionsPerFillInterval(t *testing.T) {
	l, clock, served, st, err := setup(t, `{stat_prefix: tcp_rl, token_bucket: {max_tokens: 2, tokens_per_fill: 1, fill_interval: 1s}}`, nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []bool
	for range 4 {
		got = append(got, connect(t, l))
	}
	if got[0] != true || got[1] != true || got[2] != false || got[3] != false {
		t.Errorf("4 connections on 2 tokens: served %v, want the first two", got)
	}
	if served.Load() != 2 {
		t.Errorf("served %d of 4 connections with 2 tokens", served.Load())
	}
	if got := st.Counter("local_rate_limit.tcp_rl.rate_limited").Value(); got != 2 {
		t.Errorf("rate_limited = %d, want 2", got)
	}
	clock.advance(time.Second)
	if !connect(t, l) || connect(t, l) {
		t.Error("after one fill interval: want one connection served and the next closed")
	}
}

func TestRuntimeEnabled(t *testing.T) {
	lr := &bootstrapv3.LayeredRuntime{}
	if err := config.Unmarshal([]byte(`layers: [{name: s, static_layer: {rl.on: false}}]`), lr); err != nil {
		t.Fatal(err)
	}
	rt, err := runtime.New(lr)
	if err != nil {
		t.Fatal(err)
	}
	l, _, served, _, err := setup(t, `{stat_prefix: a, token_bucket: {max_tokens: 1, fill_interval: 1s}, runtime_enabled: {runtime_key: rl.on, default_value: true}}`, rt)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		connect(t, l)
	}
	if served.Load() != 3 {
		t.Errorf("disabled by runtime, served %d of 3", served.Load())
	}
	l, _, served, _, _ = setup(t, `{stat_prefix: a, token_bucket: {max_tokens: 1, fill_interval: 1s}, runtime_enabled: {runtime_key: unset.key, default_value: false}}`, nil)
	for range 3 {
		connect(t, l)
	}
	if served.Load() != 3 {
		t.Errorf("disabled by default_value, served %d of 3", served.Load())
	}
}

func TestConfigErrors(t *testing.T) {
	for cfg, want := range map[string]string{
		`{stat_prefix: a}`: "token_bucket: required",
		`{stat_prefix: a, token_bucket: {max_tokens: 1, fill_interval: 0.02s}}`: "shorter than 50ms",
	} {
		if _, _, _, _, err := setup(t, cfg, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want %q", cfg, err, want)
		}
	}
}
