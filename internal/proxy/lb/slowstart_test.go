package lb

import (
	"math"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/durationpb"
)

// slowHost is a host whose slow start window began at since.
type slowHost struct {
	*testHost
	since time.Time
}

func (h slowHost) SlowStartSince() time.Time { return h.since }

// TestSlowStartShare: a host in slow start gets its weight scaled by Envoy's formula,
// for round robin and least request, the older hosts the rest; outside its window, or
// under random, it gets its full share.
func TestSlowStartShare(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	window := 100 * time.Second
	cases := []struct {
		name    string
		elapsed time.Duration
		ss      SlowStart
		factor  float64 // the new host's weight share of 1
	}{
		{"linear at a quarter", 25 * time.Second, SlowStart{Window: window}, 0.25},
		{"aggression 2 at a quarter", 25 * time.Second, SlowStart{Window: window, Aggression: 2}, 0.5},
		{"floor of 10% at first", time.Second, SlowStart{Window: window}, 0.1},
		{"lower floor", 0, SlowStart{Window: window, MinWeightPercent: 5}, 0.05},
		{"window over", 2 * window, SlowStart{Window: window}, 1},
	}
	for _, kind := range []Kind{RoundRobin, LeastRequest} {
		for _, c := range cases {
			t.Run(kind.String()+"/"+c.name, func(t *testing.T) {
				old := []Host{host("a"), host("b"), host("c")}
				fresh := slowHost{host("new"), now.Add(-c.elapsed)}
				hosts := append(old, fresh)
				ss := c.ss
				p := mustNew(t, kind, []HostSet{healthySet(hosts)}, Options{SlowStart: &ss, Now: func() time.Time { return now }, Rand: seeded(7)})
				const n = 40000
				got := 0
				for range n {
					if p.Pick(Context{}) == Host(fresh) {
						got++
					}
				}
				want := c.factor / (3 + c.factor)
				if share := float64(got) / n; math.Abs(share-want) > 0.01 {
					t.Errorf("new host's share %.3f, want %.3f", share, want)
				}
			})
		}
	}
	// Random ignores weights, as Envoy's does.
	fresh := slowHost{host("new"), now}
	p := mustNew(t, Random, []HostSet{healthySet([]Host{host("a"), fresh})}, Options{SlowStart: &SlowStart{Window: window}, Now: func() time.Time { return now }, Rand: seeded(3)})
	got := 0
	for range 10000 {
		if p.Pick(Context{}) == Host(fresh) {
			got++
		}
	}
	if got < 4500 || got > 5500 {
		t.Errorf("random: new host picked %d of 10000, want about half", got)
	}
}

// TestSlowStartRefresh: a policy is rebuilt while a host is in its window, and not after.
func TestSlowStartRefresh(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	o := Options{SlowStart: &SlowStart{Window: 10 * time.Second}}
	in := []HostSet{healthySet([]Host{host("a"), slowHost{host("b"), now.Add(-time.Second)}})}
	out := []HostSet{healthySet([]Host{host("a"), slowHost{host("b"), now.Add(-time.Minute)}})}
	if got := o.SlowStartRefresh(in, now); got != 500*time.Millisecond {
		t.Errorf("in window: refresh %v, want 500ms (a twentieth of the window)", got)
	}
	if got := o.SlowStartRefresh(out, now); got != 0 {
		t.Errorf("after the window: refresh %v, want none", got)
	}
	if got := (Options{}).SlowStartRefresh(in, now); got != 0 {
		t.Errorf("slow start off: refresh %v, want none", got)
	}
}

// TestSlowStartFromCluster reads Envoy's slow_start_config.
func TestSlowStartFromCluster(t *testing.T) {
	c := &clusterv3.Cluster{LbPolicy: clusterv3.Cluster_LEAST_REQUEST, LbConfig: &clusterv3.Cluster_LeastRequestLbConfig_{
		LeastRequestLbConfig: &clusterv3.Cluster_LeastRequestLbConfig{SlowStartConfig: &clusterv3.Cluster_SlowStartConfig{
			SlowStartWindow: durationpb.New(30 * time.Second), Aggression: &corev3.RuntimeDouble{DefaultValue: 1.5},
			MinWeightPercent: &typev3.Percent{Value: 20},
		}},
	}}
	kind, o, err := FromCluster(c)
	if err != nil || kind != LeastRequest {
		t.Fatalf("FromCluster: %v %v", kind, err)
	}
	if d := cmp.Diff(&SlowStart{Window: 30 * time.Second, Aggression: 1.5, MinWeightPercent: 20}, o.SlowStart); d != "" {
		t.Errorf("slow start (-want +got):\n%s", d)
	}
}
