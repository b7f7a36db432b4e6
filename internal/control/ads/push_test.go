package ads

import (
	"strconv"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// subscribeAll subscribes a state-of-the-world client to CDS, EDS, LDS and RDS and ACKs.
func subscribeAll(c *sotwClient) {
	c.ack(c.subscribe(ClusterType))
	c.ack(c.subscribe(EndpointType, clusterA, clusterB), clusterA, clusterB)
	c.ack(c.subscribe(ListenerType))
	c.ack(c.subscribe(RouteType, "80"), "80")
}

func TestDebounceCoalesces(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.DebounceAfter = 200 * time.Millisecond })
	c := h.sotw(node("app", "ns1"))
	c.ack(c.subscribe(ClusterType))
	for i := range 20 {
		host := "d" + strconv.Itoa(i) + ".ns1.svc.cluster.local"
		h.configChanged(func(m map[string]fakeService) { m[host] = fakeService{namespace: "ns1", port: 80} })
		time.Sleep(2 * time.Millisecond)
	}
	r := c.recv()
	if n := len(r.GetResources()); n != 22 {
		t.Errorf("clusters = %d, want 22", n)
	}
	c.ack(r)
	c.none()
	if got := h.metric("pilot_push_triggers", "type=config"); got != 20 {
		t.Errorf("pilot_push_triggers{type=config} = %v, want 20", got)
	}
	if got := h.metric("pilot_debounce_time"); got != 1 {
		t.Errorf("debounced pushes = %v, want 1", got)
	}
}

// TestDebounceMax: a steady stream of events still pushes once DebounceMax has passed.
func TestDebounceMax(t *testing.T) {
	h := newHarness(t, func(o *Options) { o.DebounceAfter = 50 * time.Millisecond; o.DebounceMax = 150 * time.Millisecond })
	c := h.sotw(node("app", "ns1"))
	c.ack(c.subscribe(ClusterType))
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
			host := "d" + strconv.Itoa(i) + ".ns1.svc.cluster.local"
			h.configChanged(func(m map[string]fakeService) { m[host] = fakeService{namespace: "ns1", port: 80} })
		}
	}()
	c.recv() // before the events stop
	close(stop)
	<-done
}

func TestEndpointsOnlyPushesEDS(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	subscribeAll(c)
	before := map[string]int64{}
	for _, ty := range pushOrder {
		before[ty] = h.gen.count(ty)
	}
	h.endpointsChanged(func(m map[string]fakeService) {
		s := m["a.ns1.svc.cluster.local"]
		s.ips = append(s.ips, "10.0.0.7")
		m["a.ns1.svc.cluster.local"] = s
	})
	r := c.recv()
	if r.GetTypeUrl() != EndpointType || !cmp.Equal(names(t, r.GetResources()), []string{clusterA}) {
		t.Errorf("push = %s %v, want eds [%s]", ShortType(r.GetTypeUrl()), names(t, r.GetResources()), clusterA)
	}
	c.ack(r, clusterA, clusterB)
	c.none()
	for _, ty := range []string{ClusterType, ListenerType, RouteType} {
		if got := h.gen.count(ty); got != before[ty] {
			t.Errorf("%s generated %d times during an endpoints-only push", ShortType(ty), got-before[ty])
		}
	}
	if got := h.gen.count(EndpointType); got != before[EndpointType]+1 {
		t.Errorf("eds generated %d times, want 1", got-before[EndpointType])
	}
	if got := h.metric("pilot_push_triggers", "type=endpoint"); got != 1 {
		t.Errorf("pilot_push_triggers{type=endpoint} = %v, want 1", got)
	}
}

// TestUnchangedNoPush: every node is regenerated, but only nodes whose resources
// changed are sent anything.
func TestUnchangedNoPush(t *testing.T) {
	h := newHarness(t)
	c1 := h.sotw(node("app", "ns1"))
	c2 := h.sotw(node("other", "ns2"))
	subscribeAll(c1)
	c2.ack(c2.subscribe(ClusterType))
	c2.ack(c2.subscribe(ListenerType))

	h.configChanged(func(m map[string]fakeService) {
		s := m["c.ns2.svc.cluster.local"]
		s.edit = "v2"
		m["c.ns2.svc.cluster.local"] = s
	})
	r := c2.recv()
	if r.GetTypeUrl() != ClusterType {
		t.Errorf("ns2 push = %s, want cds", ShortType(r.GetTypeUrl()))
	}
	c2.ack(r)
	c1.none()
	c2.none()

	calls := h.gen.count(ClusterType)
	v := h.s.Snapshot().Version
	h.configChanged(func(map[string]fakeService) {})
	h.waitRebuild(v)
	c1.none()
	c2.none()
	if got := h.gen.count(ClusterType); got != calls+2 {
		t.Errorf("cds generated %d times, want once per node", got-calls)
	}
}

func TestReconnect(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	r := c.subscribe(ClusterType)
	c.ack(r)
	h.waitSync("app.ns1", ClusterType, synced)
	if got := h.metric("pilot_xds", "version=1.31.0"); got != 1 {
		t.Errorf("pilot_xds = %v, want 1", got)
	}
	c.close()
	waitFor(t, func() bool { return h.metric("pilot_xds", "version=1.31.0") == 0 })

	// Envoy reconnects with the version it holds; it gets the full state again.
	c = h.sotw(node("app", "ns1"))
	c.request(ClusterType, nil, r.GetVersionInfo(), "")
	r2 := c.recv()
	if diff := cmp.Diff([]string{clusterA, clusterB}, names(t, r2.GetResources())); diff != "" {
		t.Errorf("clusters after reconnect (-want +got):\n%s", diff)
	}
	c.ack(r2)
	h.waitSync("app.ns1", ClusterType, synced)
	if n := len(h.syncz()); n != 1 {
		t.Errorf("syncz lists %d connections, want 1", n)
	}
}

// TestGeneratorErrorKeepsStream: a generator failure is logged and counted; the node
// keeps its stream and gets config once generation works again.
func TestGeneratorErrorKeepsStream(t *testing.T) {
	h := newHarness(t)
	c := h.sotw(node("app", "ns1"))
	c.ack(c.subscribe(ClusterType))
	h.gen.fail.Store(true)
	h.configChanged(func(m map[string]fakeService) { delete(m, "a.ns1.svc.cluster.local") })
	waitFor(t, func() bool { return h.metric("pilot_xds_pushes", "type=cds_builderr") == 1 })
	c.none()
	h.gen.fail.Store(false)
	h.configChanged(func(map[string]fakeService) {})
	if r := c.recv(); !cmp.Equal(names(t, r.GetResources()), []string{clusterB}) {
		t.Errorf("clusters = %v, want [%s]", names(t, r.GetResources()), clusterB)
	}
}

func waitFor(t *testing.T, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
