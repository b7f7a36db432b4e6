package ads

import (
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
)

// BenchmarkPush measures a push to N state-of-the-world nodes over loopback: each node
// watches CDS and EDS of 100 services; every iteration changes one service, which
// changes one cluster and one ClusterLoadAssignment per node. An iteration lasts until
// every node has both responses (and has ACKed them). It also reports the heap per
// connection, client and server side together.
func BenchmarkPush(b *testing.B) {
	for _, n := range []int{100, 1000} {
		b.Run("nodes="+strconv.Itoa(n), func(b *testing.B) { benchPush(b, n) })
	}
}

func benchPush(b *testing.B, n int) {
	h := newHarness(b, func(o *Options) { o.DebounceAfter = time.Millisecond })
	names := make([]string, 100)
	v := h.s.Snapshot().Version
	h.configChanged(func(m map[string]fakeService) {
		for i := range names {
			host := "s" + strconv.Itoa(i) + ".bench.svc.cluster.local"
			m[host] = fakeService{namespace: "bench", port: 80, ips: []string{"10.2.0." + strconv.Itoa(i)}}
			names[i] = clusterName(host, 80)
		}
	})
	h.waitRebuild(v)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	clients := make([]*sotwClient, n)
	for i := range clients {
		c := h.sotw(node("w"+strconv.Itoa(i), "bench"))
		c.ack(c.subscribe(ClusterType))
		c.ack(c.subscribe(EndpointType, names...), names...)
		clients[i] = c
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	perConn := float64(after.HeapAlloc-before.HeapAlloc) / float64(n)
	b.ResetTimer()
	for i := range b.N {
		h.configChanged(func(m map[string]fakeService) {
			s := m["s0.bench.svc.cluster.local"]
			s.tag = strconv.Itoa(i)
			m["s0.bench.svc.cluster.local"] = s
		})
		if !awaitAll(clients, names) {
			b.Fatal("a node got no push")
		}
	}
	b.ReportMetric(perConn, "heapB/conn")
}

// awaitAll waits until every client has two responses (CDS and EDS) and ACKs them.
func awaitAll(clients []*sotwClient, edsNames []string) bool {
	var wg sync.WaitGroup
	var failed atomic.Bool
	for _, c := range clients {
		wg.Go(func() {
			for range 2 {
				select {
				case r := <-c.resps:
					var ns []string
					if r.GetTypeUrl() == EndpointType {
						ns = edsNames
					}
					_ = c.st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: r.GetTypeUrl(), VersionInfo: r.GetVersionInfo(),
						ResponseNonce: r.GetNonce(), ResourceNames: ns})
				case <-time.After(30 * time.Second):
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return !failed.Load()
}
