package listener

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"

	"github.com/weftmesh/weft/internal/proxy/netfilter"
)

// Listener is one configured listener: a socket (unless bind_to_port is false, for
// listeners reached only by original-destination hand-off) and its current settings.
type Listener struct {
	m         *Manager
	name      string
	addr      netip.AddrPort
	boundAddr netip.AddrPort
	bind      bool
	viaAPI    bool
	created   time.Time
	ln        net.Listener
	settings  atomic.Pointer[settings]
	stats     *listenerStats

	drain     chan struct{} // closed when the listener drains
	drainOnce sync.Once

	mu      sync.Mutex
	conns   map[net.Conn]*tracked
	stopped bool
}

// tracked is an open connection: the settings generation it was accepted under, and
// its filter-chain view once a chain serves it.
type tracked struct {
	gen *settings
	nc  *netfilter.Conn
}

// Inbound reports whether the listener's traffic_direction is INBOUND.
func (l *Listener) Inbound() bool {
	return l.settings.Load().config.GetTrafficDirection() == corev3.TrafficDirection_INBOUND
}

// startDrain stops accepting and tells the listener's connections to finish.
func (l *Listener) startDrain() {
	l.drainOnce.Do(func() {
		close(l.drain)
		l.settings.Load().startDrain()
		l.stopAccepting()
	})
}

// Name returns the listener's name.
func (l *Listener) Name() string { return l.name }

// Address returns the configured address.
func (l *Listener) Address() netip.AddrPort { return l.addr }

// BoundAddress returns the address the socket is bound to (the real port when the
// config asked for port 0), or the configured address when it does not bind.
func (l *Listener) BoundAddress() netip.AddrPort {
	if l.boundAddr.IsValid() {
		return l.boundAddr
	}
	return l.addr
}

// Config returns the listener's current config.
func (l *Listener) Config() *listenerv3.Listener { return l.settings.Load().config }

// AddedViaAPI reports whether the listener came from xDS.
func (l *Listener) AddedViaAPI() bool { return l.viaAPI }

// acceptLoop accepts connections until the socket closes.
func (l *Listener) acceptLoop() {
	var delay time.Duration
	for {
		c, err := l.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() || isTemporary(err) {
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				time.Sleep(delay)
				continue
			}
			l.m.opts.Log.Error("accept failed", "listener", l.name, "error", err)
			return
		}
		delay = 0
		if !l.track(c) {
			c.Close()
			continue
		}
		go l.serve(c)
	}
}

func isTemporary(err error) bool {
	var t interface{ Temporary() bool }
	return errors.As(err, &t) && t.Temporary()
}

// track records an open connection; false when the listener has stopped.
func (l *Listener) track(c net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped && l.ln != nil {
		return false
	}
	l.conns[c] = &tracked{gen: l.settings.Load()}
	l.m.conns.Add(1)
	return true
}

func (l *Listener) untrack(c net.Conn) {
	l.mu.Lock()
	delete(l.conns, c)
	l.mu.Unlock()
	l.m.conns.Done()
}

// serving records the filter-chain view of a tracked connection.
func (l *Listener) serving(c net.Conn, nc *netfilter.Conn) {
	l.mu.Lock()
	if t := l.conns[c]; t != nil {
		t.nc = nc
	}
	l.mu.Unlock()
}

// stopAccepting closes the socket and the connections idle between requests; the
// others continue.
func (l *Listener) stopAccepting() {
	l.mu.Lock()
	l.stopped = true
	for c, t := range l.conns {
		if t.nc != nil && t.nc.Idle.Load() {
			c.Close()
		}
	}
	l.mu.Unlock()
	if l.ln != nil {
		l.ln.Close()
	}
}

// stop drains the listener and closes what is left after the drain time.
func (l *Listener) stop() {
	l.startDrain()
	time.AfterFunc(l.m.opts.DrainTime, l.closeConns)
}

// replace installs new settings: the connections of the old ones drain and what is
// left of them is closed after the drain time.
func (l *Listener) replace(st *settings) {
	old := l.settings.Swap(st)
	old.startDrain()
	l.mu.Lock()
	for c, t := range l.conns {
		if t.gen == old && t.nc != nil && t.nc.Idle.Load() {
			c.Close()
		}
	}
	l.mu.Unlock()
	time.AfterFunc(l.m.opts.DrainTime, func() { l.closeConnsOf(old) })
}

// closeConnsOf closes the connections accepted under one settings generation.
func (l *Listener) closeConnsOf(gen *settings) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c, t := range l.conns {
		if t.gen == gen {
			c.Close()
		}
	}
}

// closeConns closes every open connection.
func (l *Listener) closeConns() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for c := range l.conns {
		c.Close()
	}
}
