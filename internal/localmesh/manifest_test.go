package localmesh

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sharedDir finds ../shared from the test's working directory.
func sharedDir(t *testing.T) string {
	t.Helper()
	dir, _ := os.Getwd()
	for {
		if _, err := os.Stat(filepath.Join(dir, "..", "shared", "conformance")); err == nil {
			return filepath.Join(dir, "..", "shared")
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("../shared/conformance not found above the working directory")
		}
		dir = parent
	}
}

func TestLoadBookinfo(t *testing.T) {
	m, err := Load([]string{filepath.Join(sharedDir(t), "conformance", "istio-bookinfo-platform")}, "default")
	if err != nil {
		t.Fatal(err)
	}
	var svcs, deps []string
	for _, s := range m.Services {
		svcs = append(svcs, s.Metadata.Name)
	}
	for _, d := range m.Deployments {
		deps = append(deps, d.Metadata.Name+"="+d.Spec.Template.Spec.Containers[0].Image)
	}
	if d := cmp.Diff([]string{"details", "ratings", "reviews", "productpage"}, svcs); d != "" {
		t.Errorf("services:\n%s", d)
	}
	if len(deps) != 6 || m.Namespaces[0] != "default" || len(m.ServiceAccounts) != 4 {
		t.Errorf("deployments %v namespaces %v accounts %d", deps, m.Namespaces, len(m.ServiceAccounts))
	}
	if p := m.Services[0].Spec.Ports[0]; p.Port != 9080 || p.Name != "http" {
		t.Errorf("details port %+v", p)
	}
}
