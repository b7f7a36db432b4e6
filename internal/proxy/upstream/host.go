package upstream

import (
	"context"
	"crypto/tls"
	"math"
	"net"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/weftmesh/weft/internal/proxy/connpool"
)

// Health is a set of reasons a host is not healthy, shown by /clusters as health_flags.
type Health uint32

// Health flags, as Envoy names them in /clusters.
const (
	FailedActiveHC Health = 1 << iota
	FailedOutlierCheck
	FailedEDSHealth
	DegradedEDSHealth
	PendingDynamicRemoval
	DegradedActiveHC
)

// Flags returns the /clusters health_flags text ("healthy" when none is set).
func (h Health) Flags() string {
	if h == 0 {
		return "healthy"
	}
	var s string
	for i, name := range [...]string{"/failed_active_hc", "/failed_outlier_check", "/failed_eds_health",
		"/degraded_eds_health", "/pending_dynamic_removal", "/degraded_active_hc"} {
		if h&(1<<i) != 0 {
			s += name
		}
	}
	return s
}

// Unhealthy reports whether the flags take the host out of load balancing.
func (h Health) Unhealthy() bool {
	return h&(FailedActiveHC|FailedOutlierCheck|FailedEDSHealth) != 0
}

// Degraded reports whether the host is degraded (used only when healthy hosts lack).
func (h Health) Degraded() bool { return h&(DegradedEDSHealth|DegradedActiveHC) != 0 }

// Locality is a host's region, zone and sub-zone.
type Locality struct {
	Region, Zone, SubZone string
}

// HostStats are a host's own counters, shown by /clusters.
type HostStats struct {
	connpool.HostStats
	RqTotal   atomic.Uint64
	RqActive  atomic.Int64
	RqError   atomic.Uint64
	RqSuccess atomic.Uint64
	RqTimeout atomic.Uint64
}

// Host is one upstream endpoint. Its identity is its address; weight, priority and
// health may change while requests use it.
type Host struct {
	addr     atomic.Pointer[netip.AddrPort] // changes only for LOGICAL_DNS
	hostname string
	hashKey  string // the consistent-hash key when not the address (see HashKey)
	locality Locality
	weight   atomic.Uint32
	priority atomic.Uint32
	// localityWeight is the load_balancing_weight of the host's locality (0: not set).
	localityWeight atomic.Uint32
	health         atomic.Uint32
	cluster        *Cluster

	Stats HostStats
	// The pools are made on first use: most hosts of most clusters a sidecar knows
	// never see a request from it.
	h1          atomic.Pointer[connpool.HTTP1]
	h2          atomic.Pointer[connpool.HTTP2]
	tcp         atomic.Pointer[connpool.TCP]
	poolsClosed atomic.Bool

	outlier *outlierHost // nil unless the cluster has outlier detection

	slowStartSince atomic.Int64 // unix nanoseconds; 0: never
}

func newHost(c *Cluster, addr netip.AddrPort, hostname string, loc Locality) *Host {
	h := &Host{hostname: hostname, locality: loc, cluster: c}
	h.addr.Store(&addr)
	h.weight.Store(1)
	if c.outlier != nil {
		h.outlier = newOutlierHost()
	}
	if c.health != nil {
		// Envoy's rule: with active health checking a new host is unhealthy until its
		// first check passes, and its slow start begins then.
		h.health.Store(uint32(FailedActiveHC))
	} else {
		h.startSlowStart()
	}
	return h
}

// SlowStartSince returns when the host's slow start window began: when it joined the
// cluster, or, with active health checks, when it last turned healthy.
func (h *Host) SlowStartSince() time.Time {
	if n := h.slowStartSince.Load(); n != 0 {
		return time.Unix(0, n)
	}
	return time.Time{}
}

func (h *Host) startSlowStart() { h.slowStartSince.Store(time.Now().UnixNano()) }

// Address returns the host's address.
func (h *Host) Address() netip.AddrPort { return *h.addr.Load() }

// Hostname returns the hostname from config ("" when none).
func (h *Host) Hostname() string { return h.hostname }

// Locality returns the host's locality.
func (h *Host) Locality() Locality { return h.locality }

// Weight returns the load-balancing weight.
func (h *Host) Weight() uint32 { return h.weight.Load() }

// Priority returns the host's priority (0 is the highest).
func (h *Host) Priority() uint32 { return h.priority.Load() }

// Health returns the host's health flags.
func (h *Host) Health() Health { return Health(h.health.Load()) }

// setFlags sets (on) or clears health flags and reports whether they changed.
func (h *Host) setFlags(f Health, on bool) bool {
	for {
		old := h.health.Load()
		next := old | uint32(f)
		if !on {
			next = old &^ uint32(f)
		}
		if next == old {
			return false
		}
		if h.health.CompareAndSwap(old, next) {
			return true
		}
	}
}

// replaceFlags sets the flags of mask to those of v, leaving the others as they are.
func (h *Host) replaceFlags(mask, v Health) {
	for {
		old := h.health.Load()
		if h.health.CompareAndSwap(old, old&^uint32(mask)|uint32(v&mask)) {
			return
		}
	}
}

// SuccessRate returns the host's success rates (0–100) over the last outlier
// detection interval, for externally and locally originated errors; -1 when unknown
// (no outlier detection, or too few requests).
func (h *Host) SuccessRate() (external, localOrigin float64) {
	if h.outlier == nil {
		return -1, -1
	}
	return math.Float64frombits(h.outlier.rate[0].Load()), math.Float64frombits(h.outlier.rate[1].Load())
}

// ActiveRequests returns the requests in flight to the host.
func (h *Host) ActiveRequests() int64 { return h.Stats.RqActive.Load() }

// HashKey returns the key consistent-hash balancers place the host by, as Envoy: the
// endpoint's "envoy.lb" hash_key metadata, else its hostname with
// use_hostname_for_hashing, else its address. It is fixed when the host is made.
func (h *Host) HashKey() string {
	if h.hashKey != "" {
		return h.hashKey
	}
	return h.Address().String()
}

// setHashKey chooses the host's hash key from its endpoint (see HashKey).
func (h *Host) setHashKey(ep endpoint) {
	switch {
	case ep.hashKey != "":
		h.hashKey = ep.hashKey
	case h.cluster.lbOpts.UseHostnameForHashing && ep.hostname != "":
		h.hashKey = ep.hostname
	}
}

// Cluster returns the cluster the host belongs to.
func (h *Host) Cluster() *Cluster { return h.cluster }

// HTTP1 returns the host's HTTP/1 connection pool.
func (h *Host) HTTP1() *connpool.HTTP1 {
	if p := h.h1.Load(); p != nil {
		return p
	}
	return lazyPool(h, &h.h1, connpool.NewHTTP1, (*connpool.HTTP1).Close)
}

// HTTP2 returns the host's HTTP/2 connection pool.
func (h *Host) HTTP2() *connpool.HTTP2 {
	if p := h.h2.Load(); p != nil {
		return p
	}
	return lazyPool(h, &h.h2, connpool.NewHTTP2, (*connpool.HTTP2).Close)
}

// TCP returns the host's plain TCP connector (tcp_proxy).
func (h *Host) TCP() *connpool.TCP {
	if p := h.tcp.Load(); p != nil {
		return p
	}
	return lazyPool(h, &h.tcp, connpool.NewTCP, nil)
}

// lazyPool makes a host's pool on first use. A pool made after the host left its
// cluster is closed at once: the request that picked the host before it left fails
// over as it would on a closed pool, and no idle connection is kept.
func lazyPool[P any](h *Host, slot *atomic.Pointer[P], make func(connpool.Options) *P, closePool func(*P)) *P {
	p := make(h.cluster.poolOptions(h))
	if !slot.CompareAndSwap(nil, p) {
		return slot.Load()
	}
	if h.poolsClosed.Load() && closePool != nil {
		closePool(p)
	}
	return p
}

// closePools shuts the host's connection pools.
func (h *Host) closePools() {
	h.poolsClosed.Store(true)
	if p := h.h1.Load(); p != nil {
		p.Close()
	}
	if p := h.h2.Load(); p != nil {
		p.Close()
	}
}

// dial connects to the host, with TLS when the cluster has a transport socket.
func (h *Host) dial(ctx context.Context) (net.Conn, error) {
	return h.dialTo(ctx, h.Address())
}

// dialTo connects to addr (the host's address, or its health-check port) as dial does.
func (h *Host) dialTo(ctx context.Context, addr netip.AddrPort) (net.Conn, error) {
	d := net.Dialer{LocalAddr: h.cluster.opts.bind}
	c, err := d.DialContext(ctx, "tcp", addr.String())
	if err != nil {
		return nil, err
	}
	cfg := h.cluster.tls
	if cfg == nil {
		return c, nil
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return tc, nil
}
