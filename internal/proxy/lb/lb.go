package lb

import (
	"fmt"
	"math"
	"math/bits"
	"math/rand/v2"
	"time"
)

// Host is what a load balancer needs to know of an upstream host. Its methods must be safe
// for concurrent use. Weight and HashKey must not change while a Policy holding the host is
// in use: the upstream builds a new Policy when they do.
type Host interface {
	// Weight is the host's load-balancing weight, at least 1.
	Weight() uint32
	// ActiveRequests is the number of requests in flight to the host.
	ActiveRequests() int64
	// HashKey is the host's stable identity on a hash ring or Maglev table: the "envoy.lb"
	// hash_key metadata, the hostname (Options.UseHostnameForHashing) or the address.
	HashKey() string
}

// HostSet is the hosts of one priority level. The sets given to New are indexed by
// priority: sets[0] is priority 0, and a priority without hosts is an empty HostSet.
// Healthy and Degraded are disjoint subsets of Hosts; hosts excluded from load balancing
// are left out of all three.
type HostSet struct {
	// Hosts is every host of the priority, whatever its health.
	Hosts []Host
	// Healthy is the hosts that are healthy.
	Healthy []Host
	// Degraded is the hosts that are degraded: they get traffic only when the healthy hosts
	// of all priorities cannot take it all.
	Degraded []Host
	// Localities splits the hosts of the priority by locality. It is used only with
	// Options.LocalityWeighted, and may be nil otherwise.
	Localities []Locality
}

// Locality is the hosts of one locality of a priority level, for locality-weighted load
// balancing.
type Locality struct {
	// Weight is the locality's load_balancing_weight; 0 leaves the locality out.
	Weight uint32
	// Hosts, Healthy and Degraded are as in HostSet, restricted to the locality.
	Hosts    []Host
	Healthy  []Host
	Degraded []Host
}

// Context is what a load balancer needs to know of a request.
type Context struct {
	// Hash is the request's hash, computed by the router from the route's hash policy. It is
	// used by RingHash and Maglev when HasHash is set; without it they use a random hash.
	Hash    uint64
	HasHash bool
	// Reject, when not nil, is asked about each picked host (Envoy's retry host predicates,
	// e.g. previous_hosts). A rejected host is replaced by a new pick, at most
	// MaxRejectAttempts times; when every pick is rejected the last one is returned.
	Reject            func(Host) bool
	MaxRejectAttempts int
}

// Policy picks upstream hosts. A Policy is built by New for one membership, weighting and
// health of the hosts and never changes apart from internal atomic counters.
type Policy interface {
	// Pick returns the host for a request, or nil when no host is available. It is safe for
	// concurrent use, takes no locks and does not allocate. The Context is passed by value so
	// that callers do not have to allocate it either.
	Pick(ctx Context) Host
}

// Kind is a load-balancing policy, as Envoy's Cluster.lb_policy.
type Kind uint8

// The load-balancing policies.
const (
	RoundRobin Kind = iota
	LeastRequest
	Random
	RingHash
	Maglev
)

var kindNames = [...]string{"ROUND_ROBIN", "LEAST_REQUEST", "RANDOM", "RING_HASH", "MAGLEV"}

// String returns the Envoy name of the policy, e.g. "ROUND_ROBIN".
func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Kind(%d)", uint8(k))
}

// HashFunction is the hash a ring hash load balancer places hosts on the ring with.
type HashFunction uint8

// The ring hash functions.
const (
	// XXHash is xxHash64, Envoy's default.
	XXHash HashFunction = iota
	// MurmurHash2 is the 64-bit MurmurHash2 of libstdc++'s std::hash.
	MurmurHash2
)

// Defaults and limits, as Envoy's.
const (
	DefaultOverprovisioningFactor = 140
	DefaultHealthyPanicThreshold  = 50
	DefaultChoiceCount            = 2
	DefaultActiveRequestBias      = 1.0
	DefaultMinRingSize            = 1024
	MaxRingSize                   = 8 * 1024 * 1024
	DefaultMaglevTableSize        = 65537
	MaxMaglevTableSize            = 5000011
)

// Options are the knobs of the load balancers. The zero value is Envoy's defaults.
type Options struct {
	// OverprovisioningFactor, in percent, scales the health of priority levels and
	// localities (ClusterLoadAssignment.policy.overprovisioning_factor); 0 means 140.
	OverprovisioningFactor uint32
	// WeightedPriorityHealth computes the health of a priority level from host weights
	// rather than host counts (ClusterLoadAssignment.policy.weighted_priority_health).
	WeightedPriorityHealth bool
	// HealthyPanicThreshold, in percent, is the share of available hosts below which a
	// priority level is in panic and balances over all its hosts; nil means 50 and 0
	// disables panic mode (common_lb_config.healthy_panic_threshold).
	HealthyPanicThreshold *uint32
	// LocalityWeighted picks a locality by locality weight before picking a host
	// (common_lb_config.locality_weighted_lb_config); HostSet.Localities must be filled.
	LocalityWeighted bool
	// UseHostnameForHashing is not used by this package: it tells the upstream to make
	// Host.HashKey return the hostname (consistent_hashing_lb_config.use_hostname_for_hashing).
	UseHostnameForHashing bool

	// ChoiceCount is how many random hosts least request compares; 0 means 2.
	ChoiceCount uint32
	// ActiveRequestBias is the exponent of active requests in weighted least request;
	// nil means 1.0.
	ActiveRequestBias *float64

	// MinRingSize and MaxRingSize bound the number of ring hash entries; 0 means 1024 and
	// 8M respectively.
	MinRingSize, MaxRingSize uint64
	// RingHashFunction is the hash that places hosts on the ring.
	RingHashFunction HashFunction
	// MaglevTableSize is the size of Maglev's lookup table, a prime; 0 means 65537.
	MaglevTableSize uint64

	// SlowStart ramps up new hosts' weights (round robin and least request); nil: off.
	// The policy computes the weights when it is built: rebuild it as
	// SlowStartRefresh says.
	SlowStart *SlowStart
	// Now is the clock for slow start; nil means time.Now.
	Now func() time.Time

	// Rand is the random source; nil means math/rand/v2's. It must be safe for concurrent
	// use if Pick is called concurrently. Tests set it to a seeded source.
	Rand rand.Source
}

// settings are Options with defaults applied and values checked.
type settings struct {
	overprovisioning  uint64
	weightedHealth    bool
	panicThreshold    uint64
	localityWeighted  bool
	choiceCount       int
	activeRequestBias float64
	minRing, maxRing  uint64
	hashFunction      HashFunction
	maglevSize        uint64
	slowStart         *SlowStart
	now               time.Time
	rand              rand.Source
}

// resolve applies the defaults to o and checks the values.
func (o Options) resolve() (settings, error) {
	s := settings{
		overprovisioning:  orDefault(uint64(o.OverprovisioningFactor), DefaultOverprovisioningFactor),
		weightedHealth:    o.WeightedPriorityHealth,
		panicThreshold:    DefaultHealthyPanicThreshold,
		localityWeighted:  o.LocalityWeighted,
		choiceCount:       int(orDefault(uint64(o.ChoiceCount), DefaultChoiceCount)),
		activeRequestBias: DefaultActiveRequestBias,
		minRing:           orDefault(o.MinRingSize, DefaultMinRingSize),
		maxRing:           orDefault(o.MaxRingSize, MaxRingSize),
		hashFunction:      o.RingHashFunction,
		maglevSize:        orDefault(o.MaglevTableSize, DefaultMaglevTableSize),
		rand:              o.Rand,
	}
	if o.SlowStart != nil && o.SlowStart.Window > 0 {
		if err := o.SlowStart.check(); err != nil {
			return s, err
		}
		s.slowStart, s.now = o.SlowStart, time.Now()
		if o.Now != nil {
			s.now = o.Now()
		}
	}
	if o.HealthyPanicThreshold != nil {
		s.panicThreshold = min(uint64(*o.HealthyPanicThreshold), 100)
	}
	if o.ActiveRequestBias != nil {
		s.activeRequestBias = *o.ActiveRequestBias
	}
	if s.rand == nil {
		s.rand = runtimeRand{}
	}
	return s, s.check()
}

func (s *settings) check() error {
	switch {
	case s.activeRequestBias < 0 || math.IsNaN(s.activeRequestBias) || math.IsInf(s.activeRequestBias, 0):
		return fmt.Errorf("active request bias %v: must be a finite number >= 0", s.activeRequestBias)
	case s.maxRing > MaxRingSize:
		return fmt.Errorf("maximum ring size %d: exceeds %d", s.maxRing, MaxRingSize)
	case s.minRing > s.maxRing:
		return fmt.Errorf("minimum ring size %d: exceeds maximum ring size %d", s.minRing, s.maxRing)
	case s.hashFunction > MurmurHash2:
		return fmt.Errorf("ring hash function %d: unknown", s.hashFunction)
	case s.maglevSize > MaxMaglevTableSize:
		return fmt.Errorf("maglev table size %d: exceeds %d", s.maglevSize, MaxMaglevTableSize)
	case !isPrime(s.maglevSize):
		return fmt.Errorf("maglev table size %d: must be a prime number", s.maglevSize)
	}
	return nil
}

func orDefault(v, def uint64) uint64 {
	if v == 0 {
		return def
	}
	return v
}

// New builds the load balancer of the given kind over sets, where sets[p] holds the hosts
// of priority p. The Policy keeps the host slices of sets: the caller must not change them
// afterwards. New fails on an unknown kind, bad options or a host of weight 0.
func New(kind Kind, sets []HostSet, opts Options) (Policy, error) {
	if kind > Maglev {
		return nil, fmt.Errorf("load balancer kind %v: unknown", kind)
	}
	s, err := opts.resolve()
	if err != nil {
		return nil, fmt.Errorf("%v load balancer: %w", kind, err)
	}
	if err := checkWeights(sets); err != nil {
		return nil, fmt.Errorf("%v load balancer: %w", kind, err)
	}
	loads := computeLoads(sets, &s)
	if kind == RingHash || kind == Maglev {
		return newHashed(kind, sets, loads, &s), nil
	}
	return newScheduled(kind, sets, loads, &s), nil
}

// checkWeights rejects hosts of weight 0 and priorities whose weights overflow 32 bits, as
// Envoy does when it validates endpoints.
func checkWeights(sets []HostSet) error {
	for p := range sets {
		var sum uint64
		for _, h := range sets[p].Hosts {
			if h.Weight() == 0 {
				return fmt.Errorf("priority %d: host %q: weight must be at least 1", p, h.HashKey())
			}
			sum += uint64(h.Weight())
		}
		if sum > math.MaxUint32 {
			return fmt.Errorf("priority %d: sum of host weights %d: exceeds %d", p, sum, uint64(math.MaxUint32))
		}
	}
	return nil
}

// runtimeRand is math/rand/v2's global source: safe for concurrent use and lock-free.
type runtimeRand struct{}

func (runtimeRand) Uint64() uint64 { return rand.Uint64() }

// randIndex maps a random number onto [0, n) without division.
func randIndex(r uint64, n int) int {
	hi, _ := bits.Mul64(r, uint64(n))
	return int(hi)
}

func isPrime(n uint64) bool {
	if n < 2 {
		return false
	}
	for d := uint64(2); d*d <= n; d++ {
		if n%d == 0 {
			return false
		}
	}
	return true
}
