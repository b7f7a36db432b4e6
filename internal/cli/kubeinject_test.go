package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/weftmesh/weft/internal/inject"
	"github.com/weftmesh/weft/internal/proxy/probe"
)

const bookinfoManifest = "../../examples/bookinfo/bookinfo.yaml" // Istio's platform manifest, byte-exact

// TestKubeInjectBookinfo: kube-inject on Istio's bookinfo manifest, against a golden
// file (refresh with -update).
func TestKubeInjectBookinfo(t *testing.T) {
	out, err := run(t, "kube-inject", "-f", bookinfoManifest, "--image", "ghcr.io/weftmesh/weft:test")
	if err != nil {
		t.Fatal(err)
	}
	// run gives stdout and stderr together: the report comes first, one line each.
	report, manifest, _ := strings.Cut(out, "Deployment productpage-v1: injected (the injection policy is enabled)\n")
	if strings.Count(report, ": injected (") != 5 {
		t.Errorf("report:\n%s", report)
	}
	golden(t, "kube_inject_bookinfo.golden", manifest)
	checkInjectedRuns(t, manifest)

	// -o writes the same manifest; the output injected again is unchanged.
	path := filepath.Join(t.TempDir(), "out.yaml")
	if _, err := run(t, "kube-inject", "-f", bookinfoManifest, "--image", "ghcr.io/weftmesh/weft:test", "-o", path); err != nil {
		t.Fatal(err)
	}
	written, _ := os.ReadFile(path)
	if string(written) != manifest {
		t.Error("-o wrote something else than stdout")
	}
	again, err := run(t, "kube-inject", "-f", path, "--image", "ghcr.io/weftmesh/weft:test")
	if err != nil || !strings.HasSuffix(again, manifest) || !strings.Contains(again, "skipped (already injected") {
		t.Errorf("second kube-inject changed the manifest: %v", err)
	}
}

// checkInjectedRuns: the containers' arguments are ones weft's own commands accept:
// istio-init's through `weft iptables --dry-run`, istio-proxy's by `weft proxy`'s
// flags, and its probes by the proxy's parser.
func checkInjectedRuns(t *testing.T, manifest string) {
	t.Helper()
	for _, doc := range strings.Split(manifest, "---\n") {
		var d appsv1.Deployment
		if err := yaml.Unmarshal([]byte(doc), &d); err != nil || d.Kind != "Deployment" {
			continue
		}
		for _, c := range d.Spec.Template.Spec.InitContainers {
			switch c.Name {
			case inject.InitContainerName:
				if _, err := run(t, append(c.Args, "--dry-run")...); err != nil {
					t.Errorf("%s: weft %s: %v", d.Name, strings.Join(c.Args, " "), err)
				}
			case inject.ProxyContainerName:
				if err := newProxyCmd().ParseFlags(c.Args[1:]); err != nil {
					t.Errorf("%s: weft %s: %v", d.Name, strings.Join(c.Args, " "), err)
				}
				checkProbers(t, c.Env)
			}
		}
	}
}

func checkProbers(t *testing.T, env []corev1.EnvVar) {
	t.Helper()
	for _, e := range env {
		if e.Name == probe.EnvName {
			if _, err := probe.Parse([]byte(e.Value)); err != nil {
				t.Error(err)
			}
		}
	}
}

func TestKubeInjectErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations: {proxy.istio.io/config: '{tracing: {}}'}\nspec: {containers: [{name: a, image: a}]}\n"), 0o644)
	cfg := filepath.Join(dir, "inject.yaml")
	os.WriteFile(cfg, []byte("image: x\npolicy: maybe\n"), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"kube-inject", "-f", bad}, `document 1: Pod p: annotation proxy.istio.io/config: field "tracing" is not supported by weft`},
		{[]string{"kube-inject", "-f", bookinfoManifest, "--inject-config", cfg}, `injector config: policy "maybe"`},
		{[]string{"kube-inject", "-f", bookinfoManifest, "--discovery-address", "istiod"}, "defaultConfig.discoveryAddress"},
		{[]string{"kube-inject"}, `"filename" not set`},
	} {
		if _, err := run(t, tc.args...); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}
