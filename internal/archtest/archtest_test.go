package archtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// packages lists the module's packages with their imports (direct and indirect).
func packages(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}} {{join .Deps " "}}`, "github.com/weftmesh/weft/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	pkgs := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		pkgs[f[0]] = f[1:]
	}
	return pkgs
}

// TestProxyImports: the sidecar stays small — nothing under internal/proxy depends on
// the control plane, Kubernetes or injection (ARCHITECTURE.md).
func TestProxyImports(t *testing.T) {
	banned := []string{"github.com/weftmesh/weft/internal/control", "k8s.io/", "github.com/weftmesh/weft/internal/inject", "istio.io/"}
	for pkg, deps := range packages(t) {
		if !strings.HasPrefix(pkg, "github.com/weftmesh/weft/internal/proxy") {
			continue
		}
		for _, d := range deps {
			for _, b := range banned {
				if strings.HasPrefix(d, b) {
					t.Errorf("%s depends on %s", pkg, d)
				}
			}
		}
	}
}

// TestDocGo: every package has a doc.go saying what it is for (STYLE.md).
func TestDocGo(t *testing.T) {
	root := filepath.Join("..", "..")
	for pkg := range packages(t) {
		dir := filepath.Join(root, strings.TrimPrefix(pkg, "github.com/weftmesh/weft"))
		if strings.HasSuffix(pkg, "/cmd/weft") || strings.HasSuffix(pkg, "/bench") {
			continue // main packages carry their doc comment in main.go
		}
		if _, err := os.Stat(filepath.Join(dir, "doc.go")); err != nil {
			t.Errorf("%s has no doc.go", pkg)
		}
	}
}
