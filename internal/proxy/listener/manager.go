package listener

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/accesslog"
	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/secret"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/stats"
)

// Options configure a Manager.
type Options struct {
	Clusters   *upstream.Manager
	Secrets    *secret.Manager
	Stats      *stats.Store
	AccessLogs *accesslog.Manager
	Runtime    *runtime.Store
	Routes     *route.Providers
	Log        *slog.Logger
	// Concurrency is the number of accept loops per listener.
	Concurrency int
	// DrainTime bounds how long the connections of a removed or replaced listener may
	// take to finish before they are closed.
	DrainTime time.Duration
}

// Manager owns the proxy's listeners.
type Manager struct {
	opts Options
	ctx  context.Context

	mu        sync.Mutex
	listeners atomic.Pointer[map[string]*Listener]
	draining  chan struct{}
	drainOnce sync.Once
	conns     sync.WaitGroup
	connID    atomic.Uint64

	st managerStats
}

type managerStats struct {
	added, modified, removed, createSuccess, createFailure, workersStarted *stats.Counter
	active, draining                                                       *stats.Gauge
}

// NewManager returns a manager without listeners. Connections it accepts are served
// under ctx.
func NewManager(ctx context.Context, opts Options) *Manager {
	if opts.Concurrency < 1 {
		opts.Concurrency = 1
	}
	if opts.DrainTime <= 0 {
		opts.DrainTime = 10 * time.Minute
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	sc := opts.Stats.Scope("listener_manager.")
	m := &Manager{opts: opts, ctx: ctx, draining: make(chan struct{})}
	m.st = managerStats{
		added: sc.Counter("listener_added"), modified: sc.Counter("listener_modified"),
		removed: sc.Counter("listener_removed"), createSuccess: sc.Counter("listener_create_success"),
		createFailure: sc.Counter("listener_create_failure"), workersStarted: sc.Counter("workers_started"),
		active: sc.Gauge("total_listeners_active"), draining: sc.Gauge("total_listeners_draining"),
	}
	sc.Gauge("total_listeners_warming")
	m.st.workersStarted.Add(uint64(opts.Concurrency))
	empty := map[string]*Listener{}
	m.listeners.Store(&empty)
	return m
}

// Listeners returns every listener, sorted by name.
func (m *Manager) Listeners() []*Listener {
	ls := *m.listeners.Load()
	out := make([]*Listener, 0, len(ls))
	for _, l := range ls {
		out = append(out, l)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// AddOrUpdate adds a listener or updates the one with the same name. An update at the
// same address keeps the socket and swaps the config: new connections get the new
// filter chains, open ones keep theirs. A listener whose config did not change is left
// alone.
func (m *Manager) AddOrUpdate(cfg *listenerv3.Listener, viaAPI bool) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	addr, err := config.IPAddress(cfg.GetAddress())
	if err != nil {
		m.st.createFailure.Inc()
		return false, fmt.Errorf("listener %q: address: %w", cfg.GetName(), err)
	}
	old := (*m.listeners.Load())[cfg.GetName()]
	if old != nil && proto.Equal(old.settings.Load().config, cfg) {
		return false, nil
	}
	scope := "listener." + statName(addr) + "."
	if p := cfg.GetStatPrefix(); p != "" {
		scope = "listener." + p + "."
	}
	st, err := m.build(cfg, scope)
	if err != nil {
		m.st.createFailure.Inc()
		return false, fmt.Errorf("listener %q: %w", cfg.GetName(), err)
	}
	if old != nil && old.addr == addr && old.bind == bindToPort(cfg) {
		old.replace(st)
		old.viaAPI = viaAPI
		m.st.modified.Inc()
		return true, nil
	}
	l, err := m.start(cfg, addr, scope, st, viaAPI)
	if err != nil {
		m.st.createFailure.Inc()
		return false, fmt.Errorf("listener %q: %w", cfg.GetName(), err)
	}
	m.swap(func(ls map[string]*Listener) { ls[l.name] = l })
	m.st.createSuccess.Inc()
	if old != nil {
		old.stop()
		m.st.modified.Inc()
	} else {
		m.st.added.Inc()
	}
	return true, nil
}

func bindToPort(cfg *listenerv3.Listener) bool {
	return cfg.GetBindToPort() == nil || cfg.GetBindToPort().GetValue()
}

// start creates a listener and, when it binds, opens its socket and accept loops.
func (m *Manager) start(cfg *listenerv3.Listener, addr netip.AddrPort, scope string, st *settings, viaAPI bool) (*Listener, error) {
	l := &Listener{m: m, name: cfg.GetName(), addr: addr, bind: bindToPort(cfg), viaAPI: viaAPI, drain: make(chan struct{}),
		created: time.Now(), stats: newStats(m.opts.Stats.Scope(scope)), conns: map[net.Conn]*tracked{}}
	l.settings.Store(st)
	if !l.bind {
		return l, nil
	}
	lc := net.ListenConfig{}
	ln, err := lc.Listen(m.ctx, "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	l.ln = ln
	if a, ok := ln.Addr().(*net.TCPAddr); ok {
		l.boundAddr = a.AddrPort()
	}
	for i := 0; i < m.opts.Concurrency; i++ {
		go l.acceptLoop()
	}
	return l, nil
}

// Remove stops a listener: it stops accepting and its connections drain.
func (m *Manager) Remove(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	l := (*m.listeners.Load())[name]
	if l == nil {
		return false
	}
	m.swap(func(ls map[string]*Listener) { delete(ls, name) })
	l.stop()
	m.st.removed.Inc()
	return true
}

func (m *Manager) swap(edit func(map[string]*Listener)) {
	cur := *m.listeners.Load()
	next := make(map[string]*Listener, len(cur)+1)
	for k, v := range cur {
		next[k] = v
	}
	edit(next)
	m.listeners.Store(&next)
	m.st.active.Set(int64(len(next)))
}

// forOriginalDst finds the listener for a redirected connection's original
// destination: the one at that exact address, else the wildcard one at its port.
func (m *Manager) forOriginalDst(dst netip.AddrPort) *Listener {
	var wildcard *Listener
	for _, l := range *m.listeners.Load() {
		if l.addr == dst {
			return l
		}
		if l.addr.Port() == dst.Port() && l.addr.Addr().IsUnspecified() && l.addr.Addr().Is4() == dst.Addr().Is4() {
			wildcard = l
		}
	}
	return wildcard
}

// ActiveConnections counts the open downstream connections of every listener.
func (m *Manager) ActiveConnections() int {
	n := 0
	for _, l := range *m.listeners.Load() {
		l.mu.Lock()
		n += len(l.conns)
		l.mu.Unlock()
	}
	return n
}

// Drain stops accepting on every listener and tells connections to finish: HTTP/1
// closes after the current response, HTTP/2 sends GOAWAY. It returns at once.
func (m *Manager) Drain() {
	m.drainOnce.Do(func() {
		close(m.draining)
		m.DrainListeners(func(*Listener) bool { return true })
	})
}

// DrainListeners drains the listeners for which pick returns true (for example only
// the inbound ones, as /drain_listeners?inboundonly asks).
func (m *Manager) DrainListeners(pick func(*Listener) bool) {
	n := 0
	for _, l := range *m.listeners.Load() {
		if pick(l) {
			l.startDrain()
		}
		select {
		case <-l.drain:
			n++
		default:
		}
	}
	m.st.draining.Set(int64(n))
}

// Draining reports whether Drain was called.
func (m *Manager) Draining() bool {
	select {
	case <-m.draining:
		return true
	default:
		return false
	}
}

// Shutdown drains and waits for connections to finish, at most until ctx ends; then it
// closes whatever is left.
func (m *Manager) Shutdown(ctx context.Context) {
	m.Drain()
	done := make(chan struct{})
	go func() { m.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		for _, l := range *m.listeners.Load() {
			l.closeConns()
		}
		<-done
	}
}
