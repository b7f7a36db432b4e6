package cli

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/weftmesh/weft/internal/proxy"
)

// TestProxyIdentityFromEnv: "weft proxy --xds ADDR" in an injected pod takes its node
// from the environment and the downward-API labels file.
func TestProxyIdentityFromEnv(t *testing.T) {
	labels := filepath.Join(t.TempDir(), "labels")
	if err := os.WriteFile(labels, []byte("app=\"details\"\nversion=\"v1\""), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"POD_NAME=details-v1-abc", "POD_NAMESPACE=default", "INSTANCE_IP=10.244.0.7",
		"SERVICE_ACCOUNT=bookinfo-details", "ISTIO_META_CLUSTER_ID=Kubernetes"}
	f := proxyFlags{xds: "istiod.istio-system.svc:15010", adminAddr: "127.0.0.1:15000", labelsFile: labels, proxyType: "sidecar"}
	o, err := agentOptions(f, env, os.ReadFile)
	if err != nil {
		t.Fatal(err)
	}
	b, err := proxy.AgentBootstrap(o)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := protojson.Marshal(b.GetNode())
	want := `{"id":"sidecar~10.244.0.7~details-v1-abc.default~default.svc.cluster.local","cluster":"details.default",` +
		`"metadata":{"CLUSTER_ID":"Kubernetes","INSTANCE_IPS":"10.244.0.7","LABELS":{"app":"details","version":"v1"},` +
		`"NAME":"details-v1-abc","NAMESPACE":"default","SERVICE_ACCOUNT":"bookinfo-details"}}`
	var gotJSON, wantJSON map[string]any
	_ = json.Unmarshal(got, &gotJSON)
	_ = json.Unmarshal([]byte(want), &wantJSON)
	if d := cmp.Diff(wantJSON, gotJSON); d != "" {
		t.Errorf("node (-want +got):\n%s", d)
	}

	// No labels file: the pod simply has no labels. Unreadable: an error.
	f.labelsFile = filepath.Join(t.TempDir(), "missing")
	if _, err := agentOptions(f, env, os.ReadFile); err != nil {
		t.Errorf("missing labels file: %v", err)
	}
	if _, err := agentOptions(f, env, func(string) ([]byte, error) { return nil, fs.ErrPermission }); err == nil {
		t.Error("unreadable labels file: no error")
	}
	if _, err := agentOptions(f, nil, os.ReadFile); err == nil || !strings.Contains(err.Error(), "--node-id") {
		t.Errorf("no identity: err = %v", err)
	}
}

func TestAppProbersFromEnv(t *testing.T) {
	env := map[string]string{"ISTIO_KUBE_APP_PROBERS": `{"/app-health/a/readyz":{"tcpSocket":{"port":80}}}`}
	set, err := appProbers(func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil || set["/app-health/a/readyz"].TCPSocket.Port != 80 {
		t.Errorf("appProbers = %v, %v", set, err)
	}
	env["ISTIO_KUBE_APP_PROBERS"] = `{"/app-health/a/readyz":{"exec":{}}}`
	if _, err := appProbers(func(k string) (string, bool) { v, ok := env[k]; return v, ok }); err == nil {
		t.Error("bad probers: no error")
	}
}

// TestProxyXDSTLS: --xds to istiod's 15012 writes a bootstrap whose xds-grpc cluster
// verifies the control plane with the root the injector mounts, or $XDS_ROOT_CA's;
// 15010 stays plaintext.
func TestProxyXDSTLS(t *testing.T) {
	f := proxyFlags{xds: "istiod.istio-system.svc:15012", nodeID: "sidecar~10.0.0.1~a.default~default.svc.cluster.local"}
	cases := []struct {
		xds  string
		env  []string
		want string
	}{
		{"istiod.istio-system.svc:15012", nil, "/var/run/secrets/istio/root-cert.pem"},
		{"istiod.istio-system.svc:15012", []string{"XDS_ROOT_CA=/etc/certs/root.pem"}, "/etc/certs/root.pem"},
		{"istiod.istio-system.svc:15010", nil, ""},
	}
	for _, c := range cases {
		f.xds = c.xds
		o, err := agentOptions(f, c.env, os.ReadFile)
		if err != nil || o.XDSRootCert != c.want {
			t.Errorf("%s %v: root %q, %v; want %q", c.xds, c.env, o.XDSRootCert, err, c.want)
		}
	}
	f.xds, f.xdsTLSSet, f.xdsTLS = "istiod.istio-system.svc:15012", true, false
	if o, err := agentOptions(f, nil, os.ReadFile); err != nil || o.XDSRootCert != "" {
		t.Errorf("--xds-tls=false: root %q, %v", o.XDSRootCert, err)
	}
}
