package ads

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// TestSendsHoldTheirSlot: a node's sends count against the push concurrency bound, so
// that generated config waiting in a send is bounded too, and a node that does not
// read gives its place up after SlowSend instead of stalling everyone. With one place,
// a client that never reads its 8 MB of clusters holds it until SlowSend; a second
// client is answered only after that, and the slow send is counted.
func TestSendsHoldTheirSlot(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.PushConcurrency, o.SlowSend = 1, 300*time.Millisecond })
	v := h.s.Snapshot().Version
	h.configChanged(func(m map[string]fakeService) {
		for i := range 40 {
			m["big"+strconv.Itoa(i)+".ns1.svc.cluster.local"] = fakeService{namespace: "ns1", port: 80,
				ips: []string{"10.0.2.1"}, tag: strings.Repeat("x", 200<<10)}
		}
	})
	h.waitRebuild(v)

	// The stalled client: its own connection with a fixed 64 KiB window, and no Recv.
	conn, err := grpc.NewClient(h.xds, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stalled, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stalled.Send(&discoveryv3.DiscoveryRequest{Node: node("stalled", "ns1"), TypeUrl: ClusterType}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return h.metric("pilot_xds", "version=1.31.0") == 1 })

	other := h.sotw(node("other", "ns2"))
	start := time.Now()
	if r := other.subscribe(ClusterType); len(r.GetResources()) != 1 {
		t.Errorf("other client: %d clusters, want 1", len(r.GetResources()))
	}
	if got := h.metric("weft_xds_slow_sends_total"); got != 1 {
		t.Errorf("weft_xds_slow_sends_total = %v after %v, want 1 (the stalled client's send)", got, time.Since(start))
	}
}
