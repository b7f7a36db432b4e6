package lb

import (
	"errors"
	"strings"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/weftmesh/weft/internal/proxy/config"
)

var fromClusterTests = []struct {
	name     string
	cluster  *clusterv3.Cluster
	wantKind Kind
	want     Options
}{{
	name:     "defaults",
	cluster:  &clusterv3.Cluster{},
	wantKind: RoundRobin,
}, {
	name: "common and load assignment",
	cluster: &clusterv3.Cluster{
		LbPolicy: clusterv3.Cluster_RANDOM,
		CommonLbConfig: &clusterv3.Cluster_CommonLbConfig{
			HealthyPanicThreshold: &typev3.Percent{Value: 0},
			LocalityConfigSpecifier: &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig_{
				LocalityWeightedLbConfig: &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig{},
			},
			ConsistentHashingLbConfig: &clusterv3.Cluster_CommonLbConfig_ConsistentHashingLbConfig{UseHostnameForHashing: true},
		},
		LoadAssignment: &endpointv3.ClusterLoadAssignment{Policy: &endpointv3.ClusterLoadAssignment_Policy{
			OverprovisioningFactor: wrapperspb.UInt32(200),
			WeightedPriorityHealth: true,
		}},
	},
	wantKind: Random,
	want: Options{
		HealthyPanicThreshold: new(uint32(0)), LocalityWeighted: true, UseHostnameForHashing: true,
		OverprovisioningFactor: 200, WeightedPriorityHealth: true,
	},
}, {
	name: "panic threshold truncated",
	cluster: &clusterv3.Cluster{CommonLbConfig: &clusterv3.Cluster_CommonLbConfig{
		HealthyPanicThreshold: &typev3.Percent{Value: 33.9},
	}},
	wantKind: RoundRobin,
	want:     Options{HealthyPanicThreshold: new(uint32(33))},
}, {
	name: "least request",
	cluster: &clusterv3.Cluster{
		LbPolicy: clusterv3.Cluster_LEAST_REQUEST,
		LbConfig: &clusterv3.Cluster_LeastRequestLbConfig_{LeastRequestLbConfig: &clusterv3.Cluster_LeastRequestLbConfig{
			ChoiceCount:       wrapperspb.UInt32(5),
			ActiveRequestBias: &corev3.RuntimeDouble{DefaultValue: 0.5},
		}},
	},
	wantKind: LeastRequest,
	want:     Options{ChoiceCount: 5, ActiveRequestBias: new(0.5)},
}, {
	name: "ring hash",
	cluster: &clusterv3.Cluster{
		LbPolicy: clusterv3.Cluster_RING_HASH,
		LbConfig: &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: &clusterv3.Cluster_RingHashLbConfig{
			MinimumRingSize: wrapperspb.UInt64(64),
			MaximumRingSize: wrapperspb.UInt64(4096),
			HashFunction:    clusterv3.Cluster_RingHashLbConfig_MURMUR_HASH_2,
		}},
	},
	wantKind: RingHash,
	want:     Options{MinRingSize: 64, MaxRingSize: 4096, RingHashFunction: MurmurHash2},
}, {
	name: "maglev",
	cluster: &clusterv3.Cluster{
		LbPolicy: clusterv3.Cluster_MAGLEV,
		LbConfig: &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{
			TableSize: wrapperspb.UInt64(131071),
		}},
	},
	wantKind: Maglev,
	want:     Options{MaglevTableSize: 131071},
}, {
	name: "lb_config of another policy is ignored, as in Envoy",
	cluster: &clusterv3.Cluster{
		LbPolicy: clusterv3.Cluster_ROUND_ROBIN,
		LbConfig: &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{
			TableSize: wrapperspb.UInt64(8),
		}},
	},
	wantKind: RoundRobin,
}}

func TestFromCluster(t *testing.T) {
	for _, tt := range fromClusterTests {
		t.Run(tt.name, func(t *testing.T) {
			kind, o, err := FromCluster(tt.cluster)
			if err != nil {
				t.Fatalf("FromCluster: %v", err)
			}
			if kind != tt.wantKind {
				t.Errorf("kind %v, want %v", kind, tt.wantKind)
			}
			if diff := cmp.Diff(tt.want, o); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if _, err := New(kind, []HostSet{healthySet(named("h", 3))}, o); err != nil {
				t.Errorf("New with the options: %v", err)
			}
		})
	}
}

func TestFromClusterErrors(t *testing.T) {
	ringHash := func(rh *clusterv3.Cluster_RingHashLbConfig) *clusterv3.Cluster {
		return &clusterv3.Cluster{LbPolicy: clusterv3.Cluster_RING_HASH,
			LbConfig: &clusterv3.Cluster_RingHashLbConfig_{RingHashLbConfig: rh}}
	}
	leastRequest := func(lr *clusterv3.Cluster_LeastRequestLbConfig) *clusterv3.Cluster {
		return &clusterv3.Cluster{LbPolicy: clusterv3.Cluster_LEAST_REQUEST,
			LbConfig: &clusterv3.Cluster_LeastRequestLbConfig_{LeastRequestLbConfig: lr}}
	}
	tests := []struct {
		name        string
		cluster     *clusterv3.Cluster
		want        string
		unsupported bool
	}{
		{"cluster provided", &clusterv3.Cluster{LbPolicy: clusterv3.Cluster_CLUSTER_PROVIDED}, "lb_policy: CLUSTER_PROVIDED", true},
		{"policy config", &clusterv3.Cluster{LbPolicy: clusterv3.Cluster_LOAD_BALANCING_POLICY_CONFIG}, "lb_policy: LOAD_BALANCING_POLICY_CONFIG", true},
		{"load_balancing_policy", &clusterv3.Cluster{LoadBalancingPolicy: &clusterv3.LoadBalancingPolicy{}}, "load_balancing_policy", true},
		{"zone aware", &clusterv3.Cluster{CommonLbConfig: &clusterv3.Cluster_CommonLbConfig{
			LocalityConfigSpecifier: &clusterv3.Cluster_CommonLbConfig_ZoneAwareLbConfig_{},
		}}, "common_lb_config.zone_aware_lb_config", true},
		{"hash balance factor", &clusterv3.Cluster{CommonLbConfig: &clusterv3.Cluster_CommonLbConfig{
			ConsistentHashingLbConfig: &clusterv3.Cluster_CommonLbConfig_ConsistentHashingLbConfig{HashBalanceFactor: wrapperspb.UInt32(150)},
		}}, "common_lb_config.consistent_hashing_lb_config.hash_balance_factor", true},
		{"panic threshold range", &clusterv3.Cluster{CommonLbConfig: &clusterv3.Cluster_CommonLbConfig{
			HealthyPanicThreshold: &typev3.Percent{Value: 120},
		}}, "common_lb_config.healthy_panic_threshold: 120", false},
		{"round robin slow start aggression", &clusterv3.Cluster{LbConfig: &clusterv3.Cluster_RoundRobinLbConfig_{
			RoundRobinLbConfig: &clusterv3.Cluster_RoundRobinLbConfig{SlowStartConfig: &clusterv3.Cluster_SlowStartConfig{
				SlowStartWindow: durationpb.New(time.Minute), Aggression: &corev3.RuntimeDouble{DefaultValue: -1},
			}},
		}}, "round_robin_lb_config.slow_start_config.aggression: -1", false},
		{"least request slow start min weight", leastRequest(&clusterv3.Cluster_LeastRequestLbConfig{
			SlowStartConfig: &clusterv3.Cluster_SlowStartConfig{MinWeightPercent: &typev3.Percent{Value: 150}},
		}), "least_request_lb_config.slow_start_config.min_weight_percent: 150", false},
		{"slow start runtime key", leastRequest(&clusterv3.Cluster_LeastRequestLbConfig{
			SlowStartConfig: &clusterv3.Cluster_SlowStartConfig{Aggression: &corev3.RuntimeDouble{DefaultValue: 1, RuntimeKey: "k"}},
		}), "least_request_lb_config.slow_start_config.aggression.runtime_key", true},
		{"choice count", leastRequest(&clusterv3.Cluster_LeastRequestLbConfig{ChoiceCount: wrapperspb.UInt32(1)}),
			"least_request_lb_config.choice_count: 1", false},
		{"runtime key", leastRequest(&clusterv3.Cluster_LeastRequestLbConfig{
			ActiveRequestBias: &corev3.RuntimeDouble{DefaultValue: 1, RuntimeKey: "lb.bias"},
		}), "least_request_lb_config.active_request_bias.runtime_key", true},
		{"negative bias", leastRequest(&clusterv3.Cluster_LeastRequestLbConfig{
			ActiveRequestBias: &corev3.RuntimeDouble{DefaultValue: -2},
		}), "active request bias -2", false},
		{"ring bounds", ringHash(&clusterv3.Cluster_RingHashLbConfig{
			MinimumRingSize: wrapperspb.UInt64(20), MaximumRingSize: wrapperspb.UInt64(10),
		}), "ring_hash_lb_config: minimum_ring_size 20: exceeds maximum_ring_size 10", false},
		{"ring maximum", ringHash(&clusterv3.Cluster_RingHashLbConfig{MaximumRingSize: wrapperspb.UInt64(1 << 24)}),
			"ring_hash_lb_config.maximum_ring_size: 16777216", false},
		{"ring minimum zero", ringHash(&clusterv3.Cluster_RingHashLbConfig{MinimumRingSize: wrapperspb.UInt64(0)}),
			"ring_hash_lb_config.minimum_ring_size", false},
		{"maglev prime", &clusterv3.Cluster{LbPolicy: clusterv3.Cluster_MAGLEV,
			LbConfig: &clusterv3.Cluster_MaglevLbConfig_{MaglevLbConfig: &clusterv3.Cluster_MaglevLbConfig{TableSize: wrapperspb.UInt64(8)}}},
			"maglev_lb_config.table_size: 8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := FromCluster(tt.cluster)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("FromCluster error = %v, want one containing %q", err, tt.want)
			}
			if got := errors.Is(err, errUnsupported); got != tt.unsupported {
				t.Errorf("errors.Is(%v, errUnsupported) = %v, want %v", err, got, tt.unsupported)
			}
		})
	}
}

// TestSupportedFields checks what the package registers with config.Check.
func TestSupportedFields(t *testing.T) {
	tests := []struct {
		name    string
		msg     proto.Message
		wantErr string
	}{
		{"common", &clusterv3.Cluster_CommonLbConfig{
			HealthyPanicThreshold: &typev3.Percent{Value: 10},
			LocalityConfigSpecifier: &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig_{
				LocalityWeightedLbConfig: &clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig{},
			},
			ConsistentHashingLbConfig: &clusterv3.Cluster_CommonLbConfig_ConsistentHashingLbConfig{UseHostnameForHashing: true},
		}, ""},
		{"zone aware", &clusterv3.Cluster_CommonLbConfig{
			LocalityConfigSpecifier: &clusterv3.Cluster_CommonLbConfig_ZoneAwareLbConfig_{
				ZoneAwareLbConfig: &clusterv3.Cluster_CommonLbConfig_ZoneAwareLbConfig{},
			},
		}, "zone_aware_lb_config"},
		{"hash balance factor", &clusterv3.Cluster_CommonLbConfig{
			ConsistentHashingLbConfig: &clusterv3.Cluster_CommonLbConfig_ConsistentHashingLbConfig{HashBalanceFactor: wrapperspb.UInt32(150)},
		}, "consistent_hashing_lb_config.hash_balance_factor"},
		{"least request", &clusterv3.Cluster_LeastRequestLbConfig{
			ChoiceCount: wrapperspb.UInt32(3), ActiveRequestBias: &corev3.RuntimeDouble{DefaultValue: 2},
		}, ""},
		{"runtime key", &clusterv3.Cluster_LeastRequestLbConfig{
			ActiveRequestBias: &corev3.RuntimeDouble{RuntimeKey: "k"},
		}, "active_request_bias.runtime_key"},
		{"slow start", &clusterv3.Cluster_RoundRobinLbConfig{SlowStartConfig: &clusterv3.Cluster_SlowStartConfig{
			SlowStartWindow: durationpb.New(time.Minute), Aggression: &corev3.RuntimeDouble{DefaultValue: 2}, MinWeightPercent: &typev3.Percent{Value: 5},
		}}, ""},
		{"ring hash", &clusterv3.Cluster_RingHashLbConfig{
			MinimumRingSize: wrapperspb.UInt64(1), MaximumRingSize: wrapperspb.UInt64(2), HashFunction: clusterv3.Cluster_RingHashLbConfig_MURMUR_HASH_2,
		}, ""},
		{"maglev", &clusterv3.Cluster_MaglevLbConfig{TableSize: wrapperspb.UInt64(7)}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := config.Check(tt.msg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Check: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Check error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
	// The top-level fields of Cluster belong to the upstream package.
	if config.Supported("envoy.config.cluster.v3.Cluster", "lb_policy") {
		t.Error("lb registers Cluster.lb_policy; the upstream package owns Cluster's fields")
	}
}
