package lb

import (
	"go/build"
	"strings"
	"testing"
)

var allKinds = []Kind{RoundRobin, LeastRequest, Random, RingHash, Maglev}

func TestRejectRepicks(t *testing.T) {
	hs := named("h", 5)
	for _, kind := range allKinds {
		t.Run(kind.String(), func(t *testing.T) {
			p := mustNew(t, kind, []HostSet{healthySet(hs)}, Options{Rand: seeded(21)})
			// Reject the host a fresh pick lands on; a retry must find another.
			for i := range uint64(50) {
				ctx := Context{Hash: i * 0x9e3779b97f4a7c15, HasHash: true}
				first := p.Pick(ctx)
				ctx.Reject = func(h Host) bool { return h == first }
				ctx.MaxRejectAttempts = 10
				if got := p.Pick(ctx); got == first {
					t.Fatalf("pick %d: rejected host %v picked again after 10 attempts", i, got)
				}
			}
		})
	}
}

func TestRejectAttemptsBounded(t *testing.T) {
	hs := named("h", 3)
	for _, kind := range allKinds {
		t.Run(kind.String(), func(t *testing.T) {
			p := mustNew(t, kind, []HostSet{healthySet(hs)}, Options{Rand: seeded(22)})
			for _, max := range []int{0, 1, 3} {
				calls := 0
				ctx := Context{MaxRejectAttempts: max, Reject: func(Host) bool { calls++; return true }}
				if h := p.Pick(ctx); h == nil {
					t.Fatalf("max %d: every host rejected: Pick = nil, want the last pick", max)
				}
				// Each of the max re-picks follows one rejection; the last pick is not asked.
				if calls != max {
					t.Errorf("max %d: Reject called %d times, want %d", max, calls, max)
				}
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	ok := []HostSet{healthySet(named("h", 2))}
	tests := []struct {
		name string
		kind Kind
		sets []HostSet
		o    Options
		want string
	}{
		{"zero weight", RoundRobin, []HostSet{healthySet(asHosts(weighted("z", 0)))}, Options{}, `host "z": weight must be at least 1`},
		{"weights overflow", RoundRobin, []HostSet{healthySet(asHosts(weighted("a", 1<<31), weighted("b", 1<<31)))}, Options{}, "sum of host weights"},
		{"negative bias", LeastRequest, ok, Options{ActiveRequestBias: new(-1.0)}, "active request bias -1"},
		{"ring bounds", RingHash, ok, Options{MinRingSize: 20, MaxRingSize: 10}, "minimum ring size 20: exceeds maximum ring size 10"},
		{"ring too large", RingHash, ok, Options{MaxRingSize: MaxRingSize + 1}, "maximum ring size"},
		{"maglev not prime", Maglev, ok, Options{MaglevTableSize: 8}, "maglev table size 8: must be a prime number"},
		{"maglev too large", Maglev, ok, Options{MaglevTableSize: 5000077}, "exceeds 5000011"},
		{"unknown kind", Kind(42), ok, Options{}, "Kind(42)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.kind, tt.sets, tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{RoundRobin: "ROUND_ROBIN", Maglev: "MAGLEV", Kind(9): "Kind(9)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", uint8(k), got, want)
		}
	}
}

// TestPickDoesNotAllocate holds every policy to zero allocations per pick.
func TestPickDoesNotAllocate(t *testing.T) {
	for _, c := range benchCases() {
		t.Run(c.name, func(t *testing.T) {
			p := mustNew(t, c.kind, c.sets, c.opts)
			reject := func(h Host) bool { return false }
			var i uint64
			allocs := testing.AllocsPerRun(1000, func() {
				i++
				p.Pick(Context{Hash: i, HasHash: true, Reject: reject, MaxRejectAttempts: 2})
			})
			if allocs != 0 {
				t.Errorf("Pick allocates %.1f times, want 0", allocs)
			}
		})
	}
}

// TestImports holds the package to its doc comment: from weft, only the config package.
func TestImports(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if strings.HasPrefix(imp, "github.com/weftmesh/weft/") && imp != "github.com/weftmesh/weft/internal/proxy/config" {
			t.Errorf("lb imports %s; it may import only internal/proxy/config from weft", imp)
		}
	}
}
