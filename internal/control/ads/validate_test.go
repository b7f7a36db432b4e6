package ads

import (
	"errors"
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// countingValidator records what it validated and refuses one resource name.
type countingValidator struct {
	mu     sync.Mutex
	seen   map[string]int // typeURL/name → calls
	refuse string
}

func (v *countingValidator) validate(node *mesh.Node, typeURL, name string, _ proto.Message) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.seen[name]++
	if name == v.refuse {
		return errors.New("refused " + name + " for " + node.ID)
	}
	return nil
}

// TestValidateOncePerContent: two nodes that get the same clusters cost one validation
// per cluster, not one per node; the cache's reads are counted.
func TestValidateOncePerContent(t *testing.T) {
	v := &countingValidator{seen: map[string]int{}}
	h := newHarness(t, func(o *Options) { o.Validate = v.validate })
	for _, n := range []string{"app", "web"} {
		c := h.sotw(node(n, "ns1"))
		r := c.subscribe(ClusterType)
		if len(r.GetResources()) != 2 {
			t.Fatalf("%s: %d clusters, want 2", n, len(r.GetResources()))
		}
		c.ack(r)
		h.waitSync(n+".ns1", ClusterType, synced)
	}
	v.mu.Lock()
	for _, name := range []string{clusterA, clusterB} {
		if v.seen[name] != 1 {
			t.Errorf("%s validated %d times for two nodes, want once", name, v.seen[name])
		}
	}
	v.mu.Unlock()
	if hit, miss := h.metric("weft_xds_validation_cache_reads", "type=hit"), h.metric("weft_xds_validation_cache_reads", "type=miss"); hit != 2 || miss != 2 {
		t.Errorf("validation cache reads: %v hits, %v misses; want 2 and 2", hit, miss)
	}
}

// TestValidationFailureFailsGeneration: a resource the validator refuses keeps the
// whole type from the node (nothing half-validated is sent), and is not cached: the next
// node is refused too.
func TestValidationFailureFailsGeneration(t *testing.T) {
	v := &countingValidator{seen: map[string]int{}, refuse: clusterB}
	h := newHarness(t, func(o *Options) { o.Validate = v.validate })
	for _, n := range []string{"app", "web"} {
		c := h.sotw(node(n, "ns1"))
		c.request(ClusterType, nil, "", "")
		c.none()
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.seen[clusterB] != 2 {
		t.Errorf("refused cluster validated %d times for two nodes, want 2 (failures are not cached)", v.seen[clusterB])
	}
	if n := h.metric("pilot_xds_pushes", "type=cds_builderr"); n != 2 {
		t.Errorf("pilot_xds_pushes{type=cds_builderr} = %v, want 2", n)
	}
}
