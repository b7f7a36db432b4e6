package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/kubetest"
)

// analyze runs weft analyze with stdin and returns its output and error.
func analyze(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetIn(strings.NewReader(stdin))
	root.SetArgs(append([]string{"analyze"}, args...))
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

const (
	analyzeGateway = `apiVersion: networking.istio.io/v1
kind: Gateway
metadata:
  name: gw
spec:
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`
	analyzeRoutes = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: web
spec:
  hosts: [web.example.com]
  gateways: [gw, other-gw]
  http:
  - route:
    - destination: {host: web}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: bad
  namespace: shop
spec:
  hosts: [a]
  http:
  - route:
    - destination: {host: a}
      weight: -5
`
)

// TestAnalyzeFiles: files, directories and stdin; a message per problem in istioctl
// analyze's format; an error exit when there is one.
func TestAnalyzeFiles(t *testing.T) {
	dir := t.TempDir()
	gw, routes := filepath.Join(dir, "gw.yaml"), filepath.Join(dir, "routes.yaml")
	os.WriteFile(gw, []byte(analyzeGateway), 0o644)
	os.WriteFile(routes, []byte(analyzeRoutes), 0o644)

	out, err := analyze(t, "", "-f", dir)
	want := routes + `:1 #0) Referenced gateway not found: "other-gw"` + "\n"
	want = "Error [IST0101] (VirtualService default/web " + want +
		"Error [IST0106] (VirtualService shop/bad " + routes + `:12 #1) Schema validation error: spec.http[0].route[0].weight: weight -5 must not be negative` + "\n"
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("output (-want +got):\n%s", diff)
	}
	if err == nil || err.Error() != "analysis found 2 errors in 3 Istio objects (the codes are explained at https://istio.io/latest/docs/reference/config/analysis/)" {
		t.Errorf("err = %v", err)
	}

	// The gateway alone is fine; the routes from stdin, with it, in namespace gw-ns.
	out, err = analyze(t, "", gw)
	if err != nil || out != "✔ No validation issues found when analyzing 1 Istio objects.\n" {
		t.Errorf("valid file: %q, %v", out, err)
	}
	out, err = analyze(t, analyzeRoutes, "-n", "gw-ns", "-f", "-", "-f", gw)
	if err == nil || !strings.Contains(out, `(VirtualService gw-ns/web -:1 #0) Referenced gateway not found: "other-gw"`) ||
		strings.Contains(out, `"gw"`) {
		t.Errorf("stdin: %q, %v", out, err)
	}
	if _, err := analyze(t, ""); err == nil || !strings.Contains(err.Error(), "nothing to analyze") {
		t.Errorf("no input: %v", err)
	}
	if _, err := analyze(t, "", "-f", filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("missing file: no error")
	}
}

// TestAnalyzeKubeconfig: with --kubeconfig, the cluster's Istio config is analyzed
// too (invalid objects the CRD store keeps out are IST0106 messages without a file),
// the files' objects replace the cluster's of the same name, and references are
// resolved across both.
func TestAnalyzeKubeconfig(t *testing.T) {
	c := kubetest.Start(t)
	c.ApplyIstioCRDs(t)
	ns := c.Namespace(t)
	c.Apply(t, ns, []byte(analyzeGateway+"---\n"+strings.ReplaceAll(analyzeRoutes, "namespace: shop", "namespace: "+ns)))

	out, err := analyze(t, "", "--kubeconfig", c.Kubeconfig)
	wantLines := []string{
		"Error [IST0101] (VirtualService " + ns + `/web) Referenced gateway not found: "other-gw"`,
		"Error [IST0106] (VirtualService " + ns + `/bad) Schema validation error: spec.http[0].route[0].weight: weight -5 must not be negative`,
	}
	if err == nil || !containsLines(out, wantLines) {
		t.Errorf("cluster: err %v, output:\n%s\nwant lines:\n%s", err, out, strings.Join(wantLines, "\n"))
	}

	// A fixed bad, and other-gw, from files: nothing left to report in this namespace.
	dir := t.TempDir()
	fixed := filepath.Join(dir, "fixed.yaml")
	os.WriteFile(fixed, []byte(strings.NewReplacer("weight: -5", "weight: 100", "namespace: shop", "namespace: "+ns).Replace(analyzeRoutes)+
		"---\n"+strings.Replace(analyzeGateway, "name: gw", "name: other-gw", 1)), 0o644)
	out, _ = analyze(t, "", "--kubeconfig", c.Kubeconfig, "-n", ns, "-f", fixed)
	if strings.Contains(out, "("+ns) || strings.Contains(out, " "+ns+"/") {
		t.Errorf("messages about %s after the files replaced its objects:\n%s", ns, out)
	}
}

func containsLines(out string, lines []string) bool {
	have := map[string]bool{}
	for _, l := range strings.Split(out, "\n") {
		have[l] = true
	}
	for _, l := range lines {
		if !have[l] {
			return false
		}
	}
	return true
}
