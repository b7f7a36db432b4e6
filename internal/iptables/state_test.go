package iptables

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSave(t *testing.T) {
	st := ParseSave(installedNAT + "*raw\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
	if got := st.IstioChains("nat"); !cmp.Equal(got, []string{"ISTIO_INBOUND", "ISTIO_OUTPUT", "ISTIO_REDIRECT"}) {
		t.Errorf("nat ISTIO_* chains: %v", got)
	}
	if got := st.RulesIn("nat", "PREROUTING"); len(got) != 2 {
		t.Errorf("nat PREROUTING rules: %v", got)
	}
	if st.IstioChains("raw") != nil || st.RulesIn("filter", "INPUT") != nil {
		t.Error("chains or rules where there are none")
	}
	if !st.HasIstio() || ParseSave("*raw\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n").HasIstio() {
		t.Error("HasIstio wrong")
	}
	if got := (State{}).cleanupInput(); got != "" {
		t.Errorf("cleanup of nothing: %q", got)
	}
}

// TestCleanupInputRemovesForeignJumps: a jump to an ISTIO_* chain from a chain
// weft did not create is removed too, so that the ISTIO_* chain can be deleted.
func TestCleanupInputRemovesForeignJumps(t *testing.T) {
	st := ParseSave("*mangle\n:PREROUTING ACCEPT [0:0]\n:KUBE - [0:0]\n:ISTIO_DROP - [0:0]\n" +
		"-A PREROUTING -j KUBE\n-A KUBE -m conntrack --ctstate INVALID -g ISTIO_DROP\n-A ISTIO_DROP -j DROP\nCOMMIT\n")
	want := "*mangle\n-D KUBE -m conntrack --ctstate INVALID -g ISTIO_DROP\n-F ISTIO_DROP\n-X ISTIO_DROP\nCOMMIT\n"
	if diff := cmp.Diff(want, st.cleanupInput()); diff != "" {
		t.Errorf("cleanup input (-want +got):\n%s", diff)
	}
}
