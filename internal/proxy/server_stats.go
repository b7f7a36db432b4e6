package proxy

import (
	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"

	"math"
	"runtime"
	"strconv"
	"time"

	"github.com/weftmesh/weft/internal/stats"
)

// serverStats are Envoy's server.* gauges, refreshed at every stats flush.
type serverStats struct {
	uptime, live, state, concurrency, version            *stats.Gauge
	memAllocated, memHeap, memPhysical                   *stats.Gauge
	totalConnections, parentConnections, hotRestartEpoch *stats.Gauge
	daysUntilCert, initTimeMs                            *stats.Gauge
}

func newServerStats(sc stats.Scope) *serverStats {
	g := sc.Gauge
	return &serverStats{
		uptime: g("uptime"), live: g("live"), state: g("state"), concurrency: g("concurrency"), version: g("version"),
		memAllocated: g("memory_allocated"), memHeap: g("memory_heap_size"), memPhysical: g("memory_physical_size"),
		totalConnections: g("total_connections"), parentConnections: g("parent_connections"),
		hotRestartEpoch: g("hot_restart_epoch"), daysUntilCert: g("days_until_first_cert_expiring"),
		initTimeMs: g("initialization_time_ms"),
	}
}

// refresh sets the gauges from the proxy's current state.
func (p *Proxy) refreshServerStats() {
	s := p.server
	s.uptime.Set(int64(time.Since(p.start).Seconds()))
	if p.state() == adminv3.ServerInfo_LIVE {
		s.live.Set(1)
		s.state.Set(0)
	} else {
		s.live.Set(0)
		s.state.Set(1) // DRAINING
	}
	s.concurrency.Set(int64(p.opts.Concurrency))
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s.memAllocated.Set(int64(ms.HeapAlloc))
	s.memHeap.Set(int64(ms.HeapSys))
	s.memPhysical.Set(int64(ms.Sys - ms.HeapReleased))
	s.totalConnections.Set(int64(p.Listeners.ActiveConnections()))
	s.daysUntilCert.Set(p.daysUntilFirstCertExpiring())
}

// daysUntilFirstCertExpiring is the fewest days left on any certificate in use, or
// Envoy's value when there is none.
func (p *Proxy) daysUntilFirstCertExpiring() int64 {
	days := int64(math.MaxInt32)
	for _, c := range p.Secrets.Certs().GetCertificates() {
		for _, d := range append(c.GetCertChain(), c.GetCaCert()...) {
			days = min(days, int64(d.GetDaysUntilExpiration()))
		}
	}
	return days
}

// versionGauge is Envoy's server.version: the build's revision as a number when it has
// one, else 0.
func versionGauge(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}
