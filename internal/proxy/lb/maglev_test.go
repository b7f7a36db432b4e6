package lb

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// maglevOf returns the healthy table of priority 0 as host keys.
func maglevOf(t *testing.T, p Policy) []string {
	t.Helper()
	var keys []string
	switch m := p.(*hashed).prios[0].healthy.(type) {
	case *maglevTable[uint8]:
		for _, i := range m.table {
			keys = append(keys, m.hosts[i].HashKey())
		}
	case *maglevTable[uint16]:
		for _, i := range m.table {
			keys = append(keys, m.hosts[i].HashKey())
		}
	case *maglevTable[uint32]:
		for _, i := range m.table {
			keys = append(keys, m.hosts[i].HashKey())
		}
	}
	return keys
}

// TestMaglevMatchesEnvoy replays Envoy's maglev_lb_test.cc: six hosts, table size 7.
func TestMaglevMatchesEnvoy(t *testing.T) {
	tests := []struct {
		name   string
		prefix string
		want   []int // host index per slot
	}{
		{"addresses", "127.0.0.1:9", []int{2, 4, 0, 1, 5, 0, 3}},
		{"hostnames", "9", []int{2, 5, 0, 3, 4, 1, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := named(tt.prefix, 6)
			p := mustNew(t, Maglev, []HostSet{healthySet(hs)}, Options{MaglevTableSize: 7})
			for i := range 3 * len(tt.want) {
				got := p.Pick(Context{Hash: uint64(i), HasHash: true})
				if want := hs[tt.want[i%len(tt.want)]]; got != want {
					t.Errorf("Pick(hash %d) = %v, want %v", i, got, want)
				}
			}
		})
	}
}

func TestMaglevBalance(t *testing.T) {
	tests := []struct {
		name    string
		weights []uint32
		want    map[string]int // entries per host, or nil for an even spread
	}{
		// Envoy's documentation: weights 1 and 2 get 21,846 and 43,691 entries.
		{"weights 1 2", []uint32{1, 2}, map[string]int{"h0": 21846, "h1": 43691}},
		{"ten equal hosts", []uint32{1, 1, 1, 1, 1, 1, 1, 1, 1, 1}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hs := make([]Host, len(tt.weights))
			for i, w := range tt.weights {
				hs[i] = weighted(fmt.Sprintf("h%d", i), w)
			}
			p := mustNew(t, Maglev, []HostSet{healthySet(hs)}, Options{})
			got := map[string]int{}
			for _, k := range maglevOf(t, p) {
				got[k]++
			}
			if tt.want != nil {
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("entries per host (-want +got):\n%s", diff)
				}
				return
			}
			for k, c := range got {
				if even := DefaultMaglevTableSize / len(hs); c < even || c > even+1 {
					t.Errorf("%s has %d entries, want %d or %d", k, c, even, even+1)
				}
			}
		})
	}
}

// TestMaglevDisruption checks that removing one of N hosts moves its keys and only a few
// others: Envoy's documentation says about twice as many as ring hash.
func TestMaglevDisruption(t *testing.T) {
	const n, keys = 10, 20000
	hs := named("10.0.0.", n)
	before := mustNew(t, Maglev, []HostSet{healthySet(hs)}, Options{})
	after := mustNew(t, Maglev, []HostSet{healthySet(hs[1:])}, Options{})
	r := rand.New(rand.NewPCG(5, 6))
	moved := 0
	for range keys {
		ctx := Context{Hash: r.Uint64(), HasHash: true}
		if before.Pick(ctx) != after.Pick(ctx) {
			moved++
		}
	}
	if share := float64(moved) / keys; share < 0.09 || share > 0.25 {
		t.Errorf("removing 1 of %d hosts moved %.3f of keys, want between 1/N and about 2/N", n, share)
	}
}

func TestMaglevTableTypes(t *testing.T) {
	for _, n := range []int{3, 300, 70000} {
		p := mustNew(t, Maglev, []HostSet{healthySet(named("h", n))}, Options{MaglevTableSize: 131071})
		want := map[int]string{3: "*lb.maglevTable[uint8]", 300: "*lb.maglevTable[uint16]", 70000: "*lb.maglevTable[uint32]"}[n]
		if got := fmt.Sprintf("%T", p.(*hashed).prios[0].healthy); got != want {
			t.Errorf("%d hosts: table %s, want %s", n, got, want)
		}
		if keys := maglevOf(t, p); len(keys) != 131071 {
			t.Errorf("%d hosts: table of %d slots, want 131071", n, len(keys))
		}
	}
}

func TestMaglevLargeHostCountFillsTable(t *testing.T) {
	// More hosts than slots: every slot is taken, some hosts get none.
	p := mustNew(t, Maglev, []HostSet{healthySet(named("h", 20))}, Options{MaglevTableSize: 7})
	if got := len(maglevOf(t, p)); got != 7 {
		t.Errorf("table of %d slots, want 7", got)
	}
}
