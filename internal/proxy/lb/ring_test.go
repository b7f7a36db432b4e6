package lb

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/cespare/xxhash/v2"
	"github.com/google/go-cmp/cmp"
)

func TestHashFunctions(t *testing.T) {
	// Values from Envoy's test/common/common/hash_test.cc.
	tests := []struct {
		in              string
		xxHash, murmur2 uint64
	}{
		{"foo", 3728699739546630719, 9631199822919835226},
		{"bar", 5234164152756840025, 11474628671133349555},
		{"foo\nbar", 8917841378505826757, 16306510975912980159},
		{"lyft", 4400747396090729504, 12847078931730529320},
		{"", 17241709254077376921, 6142509188972423790},
	}
	for _, tt := range tests {
		if got := hashKey([]byte(tt.in), XXHash); got != tt.xxHash {
			t.Errorf("xxHash64(%q) = %d, want %d", tt.in, got, tt.xxHash)
		}
		if got := hashKey([]byte(tt.in), MurmurHash2); got != tt.murmur2 {
			t.Errorf("murmurHash2(%q) = %d, want %d", tt.in, got, tt.murmur2)
		}
	}
	long := []byte("a key longer than sixteen bytes")
	if murmurHash2(long, murmurSeed) == murmurHash2(long[:len(long)-1], murmurSeed) {
		t.Error("murmurHash2 ignores the tail")
	}
}

// TestRingHashMatchesEnvoy replays Envoy's ring_hash_lb_test.cc: six hosts, ring size 12.
func TestRingHashMatchesEnvoy(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		fn     HashFunction
		picks  map[uint64]int // hash -> index of the expected host
	}{{
		name:   "xxhash of addresses",
		prefix: "127.0.0.1:9",
		picks: map[uint64]int{
			0: 4, math.MaxUint64: 4, 3551244743356806947: 5, 3551244743356806948: 3,
			16117243373044804880: 0,
		},
	}, {
		name:   "xxhash of hostnames",
		prefix: "9",
		picks: map[uint64]int{
			0: 5, math.MaxUint64: 5, 7225015537174310577: 2, 6803900775736438537: 3,
		},
	}, {
		name:   "murmur2 of addresses",
		prefix: "127.0.0.1:8",
		fn:     MurmurHash2,
		picks: map[uint64]int{
			0: 5, math.MaxUint64: 5, 1358027074129602068: 5, 1358027074129602069: 3,
			10150910876324007730: 2,
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := named(tt.prefix, 6)
			p := mustNew(t, RingHash, []HostSet{healthySet(hs)}, Options{MinRingSize: 12, RingHashFunction: tt.fn})
			r := p.(*hashed).prios[0].healthy.(*ring)
			if len(r.hashes) != 12 {
				t.Errorf("ring size %d, want 12", len(r.hashes))
			}
			for hash, want := range tt.picks {
				if got := p.Pick(Context{Hash: hash, HasHash: true}); got != hs[want] {
					t.Errorf("Pick(hash %d) = %v, want %v", hash, got, hs[want])
				}
			}
		})
	}
}

func TestRingSize(t *testing.T) {
	tests := []struct {
		name          string
		weights       []uint32
		min, max      uint64
		wantSize      int
		wantPerWeight map[string]int
	}{
		{"default", []uint32{1, 1, 1}, 0, 0, 1026, map[string]int{"h0": 342, "h1": 342, "h2": 342}},
		// The lightest host (1/4) gets 8 × 1/4 entries, the other 3 times as many.
		{"weights scale entries", []uint32{1, 3}, 8, 0, 8, map[string]int{"h0": 2, "h1": 6}},
		// 2 × 1001 entries would give the lightest host a whole number; 1500 is the cap.
		// Like Envoy's, the running sum in floating point ends just above 1500.
		{"maximum caps", []uint32{1, 1000}, 1024, 1500, 1501, map[string]int{"h0": 2, "h1": 1499}},
		{"fractional entries", []uint32{1, 1, 1, 1}, 6, 6, 6, map[string]int{"h0": 2, "h1": 1, "h2": 2, "h3": 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := make([]Host, len(tt.weights))
			for i, w := range tt.weights {
				hs[i] = weighted(fmt.Sprintf("h%d", i), w)
			}
			p := mustNew(t, RingHash, []HostSet{healthySet(hs)}, Options{MinRingSize: tt.min, MaxRingSize: tt.max})
			r := p.(*hashed).prios[0].healthy.(*ring)
			got := map[string]int{}
			for _, i := range r.index {
				got[r.hosts[i].HashKey()]++
			}
			if len(r.hashes) != tt.wantSize {
				t.Errorf("ring size %d, want %d", len(r.hashes), tt.wantSize)
			}
			if diff := cmp.Diff(tt.wantPerWeight, got); diff != "" {
				t.Errorf("entries per host (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRingHashConsistency checks that removing one of N hosts moves about 1/N of the keys.
// Envoy sizes the ring so that the lightest host gets a whole number of entries, at least
// minimum_ring_size in all: with 50 hosts, 21 entries each with or without the removed
// host, so only its keys move; with 10 hosts, 103 entries each become 114, and the new
// entries take some keys of the other hosts too.
func TestRingHashConsistency(t *testing.T) {
	tests := []struct {
		n                 int
		maxMoved, maxMine float64 // shares of all keys
	}{
		{n: 50, maxMoved: 1.3 / 50, maxMine: 0},
		{n: 10, maxMoved: 2.2 / 10, maxMine: 1.0 / 10},
	}
	const keys = 20000
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.n), func(t *testing.T) {
			hs := named("10.0.0.", tt.n)
			before := mustNew(t, RingHash, []HostSet{healthySet(hs)}, Options{})
			after := mustNew(t, RingHash, []HostSet{healthySet(hs[1:])}, Options{})
			r := rand.New(rand.NewPCG(1, 2))
			moved, movedOthers := 0, 0
			for range keys {
				ctx := Context{Hash: r.Uint64(), HasHash: true}
				if b, a := before.Pick(ctx), after.Pick(ctx); a != b {
					moved++
					if b != hs[0] {
						movedOthers++
					}
				}
			}
			share, others := float64(moved)/keys, float64(movedOthers)/keys
			t.Logf("removing 1 of %d hosts moved %.4f of keys, %.4f of other hosts' keys", tt.n, share, others)
			if share < 0.5/float64(tt.n) || share > tt.maxMoved {
				t.Errorf("moved %.4f of keys, want about %.4f", share, 1/float64(tt.n))
			}
			if others > tt.maxMine {
				t.Errorf("moved %.4f of the keys of remaining hosts, want at most %.4f", others, tt.maxMine)
			}
		})
	}
}

func TestRingHashWeights(t *testing.T) {
	hs := asHosts(weighted("a", 1), weighted("b", 2), weighted("c", 5))
	p := mustNew(t, RingHash, []HostSet{healthySet(hs)}, Options{MinRingSize: 64 * 1024})
	const n = 40000
	r := rand.New(rand.NewPCG(3, 4))
	counts := map[string]int{}
	for range n {
		counts[p.Pick(Context{Hash: r.Uint64(), HasHash: true}).HashKey()]++
	}
	checkShares(t, counts, map[string]float64{"a": .125, "b": .25, "c": .625}, n, .02)
}

func TestHashedWithoutHashIsRandom(t *testing.T) {
	for _, kind := range []Kind{RingHash, Maglev} {
		p := mustNew(t, kind, []HostSet{healthySet(named("h", 4))}, Options{Rand: seeded(9)})
		const n = 8000
		checkShares(t, tally(p, Context{}, n), map[string]float64{"h0": .25, "h1": .25, "h2": .25, "h3": .25}, n, .04)
	}
}

func TestHashKeyFormat(t *testing.T) {
	// Entry n of a host hashes "<key>_<n>".
	p := mustNew(t, RingHash, []HostSet{healthySet(named("k", 1))}, Options{MinRingSize: 3})
	r := p.(*hashed).prios[0].healthy.(*ring)
	want := []uint64{xxhash.Sum64String("k0_0"), xxhash.Sum64String("k0_1"), xxhash.Sum64String("k0_2")}
	for _, w := range want {
		found := false
		for _, h := range r.hashes {
			found = found || h == w
		}
		if !found {
			t.Errorf("ring %v lacks hash %d", r.hashes, w)
		}
	}
}
