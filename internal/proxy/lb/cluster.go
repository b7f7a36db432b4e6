package lb

import (
	"errors"
	"fmt"
	"math"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
)

func init() {
	config.Support(&clusterv3.Cluster_CommonLbConfig{},
		"healthy_panic_threshold", "locality_weighted_lb_config", "consistent_hashing_lb_config")
	config.Support(&clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig{})
	config.Support(&clusterv3.Cluster_CommonLbConfig_ConsistentHashingLbConfig{}, "use_hostname_for_hashing")
	config.Support(&typev3.Percent{}, "value")
	config.Support(&clusterv3.Cluster_RoundRobinLbConfig{}, "slow_start_config")
	config.Support(&clusterv3.Cluster_LeastRequestLbConfig{}, "choice_count", "active_request_bias", "slow_start_config")
	config.Support(&clusterv3.Cluster_SlowStartConfig{}, "slow_start_window", "aggression", "min_weight_percent")
	config.Support(&corev3.RuntimeDouble{}, "default_value")
	config.Support(&clusterv3.Cluster_RingHashLbConfig{}, "minimum_ring_size", "maximum_ring_size", "hash_function")
	config.Support(&clusterv3.Cluster_MaglevLbConfig{}, "table_size")
}

// errUnsupported marks config that weft does not implement.
var errUnsupported = errors.New("not supported by weft")

// FromCluster returns the load-balancing policy and options of an Envoy cluster: lb_policy,
// common_lb_config, the policy's own lb_config and the overprovisioning factor and weighted
// priority health of its load_assignment policy. For EDS clusters the upstream sets the
// last two from the ClusterLoadAssignment it receives. As in Envoy, an lb_config of another
// policy than lb_policy's is ignored. Policies and fields weft does not implement are
// errors naming the field.
func FromCluster(c *clusterv3.Cluster) (Kind, Options, error) {
	var o Options
	kind, err := kindOf(c)
	if err != nil {
		return 0, o, err
	}
	if err := commonOptions(c.GetCommonLbConfig(), &o); err != nil {
		return 0, o, fmt.Errorf("common_lb_config.%w", err)
	}
	if p := c.GetLoadAssignment().GetPolicy(); p != nil {
		o.OverprovisioningFactor = p.GetOverprovisioningFactor().GetValue()
		o.WeightedPriorityHealth = p.GetWeightedPriorityHealth()
	}
	switch kind {
	case RoundRobin:
		err = roundRobinOptions(c.GetRoundRobinLbConfig(), &o)
	case LeastRequest:
		err = leastRequestOptions(c.GetLeastRequestLbConfig(), &o)
	case RingHash:
		err = ringHashOptions(c.GetRingHashLbConfig(), &o)
	case Maglev:
		err = maglevOptions(c.GetMaglevLbConfig(), &o)
	}
	if err != nil {
		return 0, o, err
	}
	if _, err := o.resolve(); err != nil {
		return 0, o, fmt.Errorf("%v: %w", kind, err)
	}
	return kind, o, nil
}

func kindOf(c *clusterv3.Cluster) (Kind, error) {
	if c.GetLoadBalancingPolicy() != nil {
		return 0, fmt.Errorf("load_balancing_policy: %w; use lb_policy", errUnsupported)
	}
	switch p := c.GetLbPolicy(); p {
	case clusterv3.Cluster_ROUND_ROBIN:
		return RoundRobin, nil
	case clusterv3.Cluster_LEAST_REQUEST:
		return LeastRequest, nil
	case clusterv3.Cluster_RANDOM:
		return Random, nil
	case clusterv3.Cluster_RING_HASH:
		return RingHash, nil
	case clusterv3.Cluster_MAGLEV:
		return Maglev, nil
	default:
		return 0, fmt.Errorf("lb_policy: %v: %w", p, errUnsupported)
	}
}

func commonOptions(cc *clusterv3.Cluster_CommonLbConfig, o *Options) error {
	if cc == nil {
		return nil
	}
	if t := cc.GetHealthyPanicThreshold(); t != nil {
		v := t.GetValue()
		if v < 0 || v > 100 {
			return fmt.Errorf("healthy_panic_threshold: %v: must be between 0 and 100", v)
		}
		// Envoy truncates the percentage to a whole percent.
		o.HealthyPanicThreshold = new(uint32(v))
	}
	switch cc.GetLocalityConfigSpecifier().(type) {
	case *clusterv3.Cluster_CommonLbConfig_ZoneAwareLbConfig_:
		return fmt.Errorf("zone_aware_lb_config: %w", errUnsupported)
	case *clusterv3.Cluster_CommonLbConfig_LocalityWeightedLbConfig_:
		o.LocalityWeighted = true
	}
	if ch := cc.GetConsistentHashingLbConfig(); ch != nil {
		if ch.GetHashBalanceFactor() != nil {
			return fmt.Errorf("consistent_hashing_lb_config.hash_balance_factor: %w", errUnsupported)
		}
		o.UseHostnameForHashing = ch.GetUseHostnameForHashing()
	}
	return nil
}

func roundRobinOptions(rr *clusterv3.Cluster_RoundRobinLbConfig, o *Options) error {
	ss, err := slowStartOptions(rr.GetSlowStartConfig())
	if err != nil {
		return fmt.Errorf("round_robin_lb_config.slow_start_config.%w", err)
	}
	o.SlowStart = ss
	return nil
}

// slowStartOptions reads a slow_start_config; errors start with the field name.
func slowStartOptions(c *clusterv3.Cluster_SlowStartConfig) (*SlowStart, error) {
	if c == nil {
		return nil, nil
	}
	ss := &SlowStart{}
	if w := c.GetSlowStartWindow(); w != nil {
		if err := w.CheckValid(); err != nil {
			return nil, fmt.Errorf("slow_start_window: %v", err)
		}
		if ss.Window = w.AsDuration(); ss.Window < 0 {
			return nil, fmt.Errorf("slow_start_window: %v: must not be negative", ss.Window)
		}
	}
	if a := c.GetAggression(); a != nil {
		if a.GetRuntimeKey() != "" {
			return nil, fmt.Errorf("aggression.runtime_key: %w (weft has no runtime)", errUnsupported)
		}
		if a.GetDefaultValue() <= 0 {
			return nil, fmt.Errorf("aggression: %v: must be greater than 0", a.GetDefaultValue())
		}
		ss.Aggression = a.GetDefaultValue()
	}
	if p := c.GetMinWeightPercent(); p != nil {
		if v := p.GetValue(); v < 0 || v > 100 {
			return nil, fmt.Errorf("min_weight_percent: %v: must be between 0 and 100", v)
		}
		ss.MinWeightPercent = p.GetValue()
		if ss.MinWeightPercent == 0 {
			ss.MinWeightPercent = math.SmallestNonzeroFloat64 // 0 given: no floor
		}
	}
	return ss, nil
}

func leastRequestOptions(lr *clusterv3.Cluster_LeastRequestLbConfig, o *Options) error {
	if lr == nil {
		return nil
	}
	ss, err := slowStartOptions(lr.GetSlowStartConfig())
	if err != nil {
		return fmt.Errorf("least_request_lb_config.slow_start_config.%w", err)
	}
	o.SlowStart = ss
	if n := lr.GetChoiceCount(); n != nil {
		if n.GetValue() < 2 {
			return fmt.Errorf("least_request_lb_config.choice_count: %d: must be at least 2", n.GetValue())
		}
		o.ChoiceCount = n.GetValue()
	}
	if b := lr.GetActiveRequestBias(); b != nil {
		if b.GetRuntimeKey() != "" {
			return fmt.Errorf("least_request_lb_config.active_request_bias.runtime_key: %w (weft has no runtime)", errUnsupported)
		}
		o.ActiveRequestBias = new(b.GetDefaultValue())
	}
	return nil
}

func ringHashOptions(rh *clusterv3.Cluster_RingHashLbConfig, o *Options) error {
	if rh == nil {
		return nil
	}
	if v := rh.GetMinimumRingSize(); v != nil {
		if v.GetValue() == 0 {
			return errors.New("ring_hash_lb_config.minimum_ring_size: must be at least 1")
		}
		o.MinRingSize = v.GetValue()
	}
	if v := rh.GetMaximumRingSize(); v != nil {
		if v.GetValue() == 0 {
			return errors.New("ring_hash_lb_config.maximum_ring_size: must be at least 1")
		}
		o.MaxRingSize = v.GetValue()
	}
	lo, hi := orDefault(o.MinRingSize, DefaultMinRingSize), orDefault(o.MaxRingSize, MaxRingSize)
	if hi > MaxRingSize {
		return fmt.Errorf("ring_hash_lb_config.maximum_ring_size: %d: exceeds %d", hi, MaxRingSize)
	}
	if lo > hi {
		return fmt.Errorf("ring_hash_lb_config: minimum_ring_size %d: exceeds maximum_ring_size %d", lo, hi)
	}
	switch f := rh.GetHashFunction(); f {
	case clusterv3.Cluster_RingHashLbConfig_XX_HASH:
		o.RingHashFunction = XXHash
	case clusterv3.Cluster_RingHashLbConfig_MURMUR_HASH_2:
		o.RingHashFunction = MurmurHash2
	default:
		return fmt.Errorf("ring_hash_lb_config.hash_function: %v: %w", f, errUnsupported)
	}
	return nil
}

func maglevOptions(m *clusterv3.Cluster_MaglevLbConfig, o *Options) error {
	if v := m.GetTableSize(); v != nil {
		if !isPrime(v.GetValue()) || v.GetValue() > MaxMaglevTableSize {
			return fmt.Errorf("maglev_lb_config.table_size: %d: must be a prime number at most %d",
				v.GetValue(), MaxMaglevTableSize)
		}
		o.MaglevTableSize = v.GetValue()
	}
	return nil
}
