package upstream

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/lb"
	"github.com/weftmesh/weft/internal/stats"
)

type fakeResolver struct {
	mu    sync.Mutex
	addrs map[string][]string
}

func (r *fakeResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.addrs[host] = addrs
}

func (r *fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	as, ok := r.addrs[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, a := range as {
		out = append(out, netip.MustParseAddr(a))
	}
	return out, nil
}

func cluster(t *testing.T, y string) *clusterv3.Cluster {
	t.Helper()
	c := &clusterv3.Cluster{}
	if err := config.Unmarshal([]byte(y), c); err != nil {
		t.Fatal(err)
	}
	if err := config.Check(c); err != nil {
		t.Fatal(err)
	}
	return c
}

func addrs(hosts []*Host) []string {
	var out []string
	for _, h := range hosts {
		out = append(out, h.Address().String()+"/"+h.Hostname())
	}
	return out
}

func TestStrictDNS(t *testing.T) {
	r := &fakeResolver{addrs: map[string][]string{"reviews": {"10.0.0.1", "10.0.0.2"}}}
	m := NewManager(Options{Stats: stats.NewStore(), Resolver: r})
	c := cluster(t, `
name: reviews
type: STRICT_DNS
load_assignment:
  cluster_name: reviews
  endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: reviews, port_value: 9080}}}}]}]`)
	if _, err := m.AddOrUpdate(context.Background(), c, false); err != nil {
		t.Fatal(err)
	}
	got := addrs(m.Cluster("reviews").Hosts())
	if d := cmp.Diff([]string{"10.0.0.1:9080/reviews", "10.0.0.2:9080/reviews"}, got); d != "" {
		t.Error(d)
	}
	// A refresh that drops one address keeps the other host object.
	keep := m.Cluster("reviews").Hosts()[1]
	r.set("reviews", "10.0.0.2")
	m.resolve(context.Background(), m.Cluster("reviews"))
	hosts := m.Cluster("reviews").Hosts()
	if len(hosts) != 1 || hosts[0] != keep {
		t.Errorf("after refresh hosts %v, want the 10.0.0.2 host kept", addrs(hosts))
	}
	// A failed lookup keeps the last good hosts.
	r.set("reviews")
	delete(r.addrs, "reviews")
	m.resolve(context.Background(), m.Cluster("reviews"))
	if len(m.Cluster("reviews").Hosts()) != 1 {
		t.Error("failed lookup dropped the hosts")
	}
	if got := m.Cluster("reviews").info.UpdateFailure.Value(); got != 1 {
		t.Errorf("update_failure = %d", got)
	}
}

func TestEDS(t *testing.T) {
	m := NewManager(Options{Stats: stats.NewStore()})
	c := cluster(t, `
name: outbound|9080||reviews
type: EDS
eds_cluster_config: {eds_config: {ads: {}}}`)
	if _, err := m.AddOrUpdate(context.Background(), c, true); err != nil {
		t.Fatal(err)
	}
	cl := m.Cluster("outbound|9080||reviews")
	if cl.Pick(lb.Context{}) != nil {
		t.Error("pick before endpoints arrived")
	}
	cla := &endpointv3.ClusterLoadAssignment{}
	if err := config.Unmarshal([]byte(`
cluster_name: outbound|9080||reviews
endpoints:
- locality: {region: r1, zone: z1}
  lb_endpoints:
  - endpoint: {address: {socket_address: {address: 10.1.0.1, port_value: 9080}}}
  - endpoint: {address: {socket_address: {address: 10.1.0.2, port_value: 9080}}}
    health_status: UNHEALTHY
- priority: 1
  lb_endpoints:
  - endpoint: {address: {socket_address: {address: 10.2.0.1, port_value: 9080}}}`), cla); err != nil {
		t.Fatal(err)
	}
	if err := m.SetEndpoints(cla); err != nil {
		t.Fatal(err)
	}
	hosts := cl.Hosts()
	if len(hosts) != 3 || hosts[1].Health().Flags() != "/failed_eds_health" || hosts[0].Locality().Zone != "z1" || hosts[2].Priority() != 1 {
		t.Errorf("hosts %v", addrs(hosts))
	}
	// Priority 0 is half healthy: with overprovisioning 1.4 it takes 70% of the load;
	// the unhealthy host never gets any.
	counts := map[string]int{}
	for i := 0; i < 2000; i++ {
		counts[cl.Pick(lb.Context{}).Address().String()]++
	}
	if counts["10.1.0.2:9080"] != 0 || counts["10.1.0.1:9080"] < 1200 || counts["10.2.0.1:9080"] < 400 {
		t.Errorf("pick counts %v, want about 1400/600 and none for the unhealthy host", counts)
	}
	if got := cl.info.MembershipHealthy.Value(); got != 2 {
		t.Errorf("membership_healthy = %d, want 2", got)
	}
	// The same endpoints again keep the host objects (and their pools).
	first := cl.Hosts()[0]
	m.SetEndpoints(cla)
	if cl.Hosts()[0] != first {
		t.Error("host object replaced by an identical update")
	}
	// The assignment's overprovisioning factor applies: at 2.0, half of priority 0 is
	// enough for all the load.
	cla.Policy = &endpointv3.ClusterLoadAssignment_Policy{OverprovisioningFactor: wrapperspb.UInt32(200)}
	if err := m.SetEndpoints(cla); err != nil {
		t.Fatal(err)
	}
	clear(counts)
	for i := 0; i < 1000; i++ {
		counts[cl.Pick(lb.Context{}).Address().String()]++
	}
	if counts["10.1.0.1:9080"] != 1000 {
		t.Errorf("pick counts %v with overprovisioning_factor 200, want all on 10.1.0.1", counts)
	}
}

func TestCircuitBreakerThresholds(t *testing.T) {
	m := NewManager(Options{Stats: stats.NewStore()})
	c := cluster(t, `
name: c
type: STATIC
circuit_breakers:
  thresholds:
  - {max_connections: 10, max_pending_requests: 5, track_remaining: true}
  - {priority: HIGH, max_requests: 7}
load_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]}`)
	if _, err := m.AddOrUpdate(context.Background(), c, false); err != nil {
		t.Fatal(err)
	}
	cl := m.Cluster("c")
	def, high := cl.Breaker(false), cl.Breaker(true)
	got := []int64{def.Connections.Max(), def.Pending.Max(), def.Requests.Max(), def.Retries.Max(), high.Requests.Max(), high.Connections.Max()}
	if d := cmp.Diff([]int64{10, 5, 1024, 3, 7, 1024}, got); d != "" {
		t.Error(d)
	}
}

func TestUnsupportedClusterConfig(t *testing.T) {
	for _, y := range []string{
		"name: x\ntype: STATIC\noutlier_detection: {detect_degraded_hosts: true}",
		"name: x\ntype: STATIC\nlb_policy: CLUSTER_PROVIDED",
	} {
		c := &clusterv3.Cluster{}
		if err := config.Unmarshal([]byte(y), c); err != nil {
			t.Fatal(err)
		}
		err := config.Check(c)
		if err == nil {
			m := NewManager(Options{Stats: stats.NewStore()})
			_, err = m.AddOrUpdate(context.Background(), c, false)
		}
		if err == nil || !(strings.Contains(err.Error(), "outlier_detection") || strings.Contains(err.Error(), "lb_policy")) {
			t.Errorf("%q: err %v, want one naming the field", y, err)
		}
	}
}

// TestUpstreamBind: upstream_bind_config sets the connections' source address, as the
// inbound passthrough needs (127.0.0.6 is exempt from the sidecar's capture).
func TestUpstreamBind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	m := NewManager(Options{Stats: stats.NewStore()})
	c := cluster(t, fmt.Sprintf(`
name: c
type: STATIC
upstream_bind_config: {source_address: {address: 127.0.0.6, port_value: 0}}
load_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: %d}}}}]}]}`, port))
	if _, err := m.AddOrUpdate(context.Background(), c, false); err != nil {
		t.Fatal(err)
	}
	conn, err := m.Cluster("c").Hosts()[0].dial(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if got := conn.LocalAddr().(*net.TCPAddr).IP.String(); got != "127.0.0.6" {
		t.Errorf("upstream connection from %s, want 127.0.0.6", got)
	}

	bad := &clusterv3.Cluster{}
	if err := config.Unmarshal([]byte("name: b\ntype: STATIC\nupstream_bind_config: {source_address: {address: nowhere}}"), bad); err != nil {
		t.Fatal(err)
	}
	if _, err := m.AddOrUpdate(context.Background(), bad, false); err == nil || !strings.Contains(err.Error(), "upstream_bind_config") {
		t.Errorf("bad bind address: err %v, want one naming upstream_bind_config", err)
	}
}

// TestSlowStart: a host that joins an EDS cluster with slow_start_config starts with a
// small share of the picks, the balancer is rebuilt while it ramps up, and once its
// window is over it gets an equal share. Without slow start it gets its share at once.
func TestSlowStart(t *testing.T) {
	cla := func(addrs ...string) *endpointv3.ClusterLoadAssignment {
		c := &endpointv3.ClusterLoadAssignment{ClusterName: "c"}
		var eps []string
		for _, a := range addrs {
			eps = append(eps, fmt.Sprintf("{endpoint: {address: {socket_address: {address: %s, port_value: 80}}}}", a))
		}
		if err := config.Unmarshal([]byte("cluster_name: c\nendpoints: [{lb_endpoints: ["+strings.Join(eps, ",")+"]}]"), c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	share := func(cl *Cluster, addr string) float64 {
		n := 0
		for i := 0; i < 4000; i++ {
			if cl.Pick(lb.Context{}).Address().Addr().String() == addr {
				n++
			}
		}
		return float64(n) / 4000
	}
	for _, slow := range []bool{true, false} {
		m := NewManager(Options{Stats: stats.NewStore()})
		y := "name: c\ntype: EDS\neds_cluster_config: {eds_config: {ads: {}}}"
		if slow {
			y += "\nround_robin_lb_config: {slow_start_config: {slow_start_window: 2s}}"
		}
		if _, err := m.AddOrUpdate(context.Background(), cluster(t, y), true); err != nil {
			t.Fatal(err)
		}
		if err := m.SetEndpoints(cla("10.0.0.1")); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2100 * time.Millisecond * time.Duration(btoi(slow))) // the first host's window ends
		if err := m.SetEndpoints(cla("10.0.0.1", "10.0.0.2")); err != nil {
			t.Fatal(err)
		}
		cl := m.Cluster("c")
		first := share(cl, "10.0.0.2")
		if !slow {
			if first < 0.45 || first > 0.55 {
				t.Errorf("without slow start the new host's share is %.2f, want half", first)
			}
			continue
		}
		// Within its first second: weight max(10%, 1s/2s) = 0.5, a third of the picks.
		if first < 0.28 || first > 0.39 {
			t.Errorf("new host's share at first %.2f, want about 0.33", first)
		}
		time.Sleep(2200 * time.Millisecond)
		if got := share(cl, "10.0.0.2"); got < 0.45 || got > 0.55 {
			t.Errorf("new host's share after its window %.2f, want half (the balancer was not rebuilt?)", got)
		}
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestDeferredStats: with deferred stats creation a cluster has its membership and
// update stats from the start, its traffic stats and breaker open gauges only once it
// carries traffic; without it, all of them at once, as Envoy.
func TestDeferredStats(t *testing.T) {
	names := func(st *stats.Store) map[string]bool {
		out := map[string]bool{}
		snap := st.Snapshot()
		for _, c := range snap.Counters {
			out[c.Name()] = true
		}
		for _, g := range snap.Gauges {
			out[g.Name()] = true
		}
		for _, h := range snap.Histograms {
			out[h.Name()] = true
		}
		return out
	}
	for _, deferred := range []bool{true, false} {
		st := stats.NewStore()
		m := NewManager(Options{Stats: st, DeferStats: deferred})
		c := cluster(t, `
name: c
type: STATIC
circuit_breakers: {thresholds: [{max_requests: 1}]}
load_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]}`)
		if _, err := m.AddOrUpdate(context.Background(), c, false); err != nil {
			t.Fatal(err)
		}
		got := names(st)
		for name, want := range map[string]bool{
			"cluster.c.membership_total": true, "cluster.c.update_success": true,
			"cluster.c.upstream_rq_total": !deferred, "cluster.c.upstream_cx_total": !deferred, "cluster.c.upstream_rq_time": !deferred,
			"cluster.c.circuit_breakers.default.rq_open": !deferred,
		} {
			if got[name] != want {
				t.Errorf("deferred %v: %s present %v, want %v", deferred, name, got[name], want)
			}
		}
		cl := m.Cluster("c")
		cl.Stats().RqTotal.Inc()
		if !cl.Breaker(false).Requests.TryAcquire() {
			t.Fatal("breaker refused its first request")
		}
		got = names(st)
		for _, name := range []string{"cluster.c.upstream_rq_total", "cluster.c.upstream_cx_total", "cluster.c.circuit_breakers.default.rq_open"} {
			if !got[name] {
				t.Errorf("deferred %v: %s missing once the cluster carried traffic", deferred, name)
			}
		}
		if v := st.Gauge("cluster.c.circuit_breakers.default.rq_open").Value(); v != 1 {
			t.Errorf("deferred %v: rq_open %d at the limit, want 1", deferred, v)
		}
	}
}

// TestLazyPools: a host's pools are made on first use; one made after the host left
// its cluster is closed at once, so it keeps no connection.
func TestLazyPools(t *testing.T) {
	m := NewManager(Options{Stats: stats.NewStore()})
	if _, err := m.AddOrUpdate(context.Background(), cluster(t, `
name: c
type: STATIC
load_assignment: {cluster_name: c, endpoints: [{lb_endpoints: [{endpoint: {address: {socket_address: {address: 127.0.0.1, port_value: 1}}}}]}]}`), false); err != nil {
		t.Fatal(err)
	}
	h := m.Cluster("c").Hosts()[0]
	if h.h1.Load() != nil || h.h2.Load() != nil || h.tcp.Load() != nil {
		t.Fatal("pools made before any use")
	}
	if h.HTTP1() != h.HTTP1() {
		t.Error("two HTTP/1 pools for one host")
	}
	h.closePools()
	if _, err := h.HTTP2().Acquire(context.Background()); err == nil {
		t.Error("a pool made after the host's pools were closed accepted a request")
	}
}
