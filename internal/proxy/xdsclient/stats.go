package xdsclient

import (
	"github.com/cespare/xxhash/v2"

	"github.com/weftmesh/weft/internal/stats"
)

// typeStats are Envoy's per-type xDS stats: listener_manager.lds.*, cluster_manager.cds.*.
type typeStats struct {
	attempt, success, failure, rejected *stats.Counter
	updateTime, version                 *stats.Gauge
	versionText                         *stats.TextReadout
}

type clientStats struct {
	connected *stats.Gauge
	byType    map[string]*typeStats
}

func newClientStats(st *stats.Store) clientStats {
	cs := clientStats{connected: st.Gauge("control_plane.connected_state"), byType: map[string]*typeStats{}}
	prefix := map[string]string{
		ClusterType: "cluster_manager.cds.", ListenerType: "listener_manager.lds.",
		EndpointType: "cluster_manager.eds.", RouteType: "http.rds.", SecretType: "sds.",
	}
	for url, p := range prefix {
		sc := st.Scope(p)
		cs.byType[url] = &typeStats{
			attempt: sc.Counter("update_attempt"), success: sc.Counter("update_success"),
			failure: sc.Counter("update_failure"), rejected: sc.Counter("update_rejected"),
			updateTime: sc.Gauge("update_time"), version: sc.Gauge("version"),
			versionText: sc.TextReadout("version_text"),
		}
	}
	return cs
}

// accepted records an applied update.
func (ts *typeStats) accepted(version string, nowMillis int64) {
	ts.success.Inc()
	ts.updateTime.Set(nowMillis)
	ts.version.Set(int64(xxhash.Sum64String(version) >> 1))
	ts.versionText.Set(version)
}
