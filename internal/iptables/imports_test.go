package iptables

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImports: the capture rules run before the proxy and the control plane start,
// and depend on neither (doc.go).
func TestImports(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{join .Deps "\n"}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{"github.com/weftmesh/weft/internal/proxy", "github.com/weftmesh/weft/internal/control"} {
			if strings.HasPrefix(dep, banned) {
				t.Errorf("internal/iptables depends on %s", dep)
			}
		}
	}
}
