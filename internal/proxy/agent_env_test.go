package proxy_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy"
)

// TestAgentFromEnv: inside an injected pod the proxy's identity comes from the
// downward API's environment and labels file; flags win over both.
func TestAgentFromEnv(t *testing.T) {
	podEnv := []string{"POD_NAME=reviews-v1-7d9f", "POD_NAMESPACE=shop", "INSTANCE_IP=10.1.0.5",
		"SERVICE_ACCOUNT=bookinfo-reviews", "ISTIO_META_CLUSTER_ID=Kubernetes", "ISTIO_META_WORKLOAD_NAME=reviews-v1",
		"ISTIO_META_INTERCEPTION_MODE=REDIRECT", "HOME=/", "ISTIO_META_=ignored"}
	labelsFile := []byte("app=\"reviews\"\nsecurity.istio.io/tlsMode=\"istio\"\nversion=\"v1\"\nquoted=\"a \\\"b\\\"\"\n")
	for _, tc := range []struct {
		name   string
		in     proxy.AgentOptions
		env    []string
		labels []byte
		want   proxy.AgentOptions
	}{{
		name: "pod", in: proxy.AgentOptions{XDS: "istiod.istio-system.svc:15010"}, env: podEnv, labels: labelsFile,
		want: proxy.AgentOptions{XDS: "istiod.istio-system.svc:15010",
			NodeID:  "sidecar~10.1.0.5~reviews-v1-7d9f.shop~shop.svc.cluster.local",
			Cluster: "reviews.shop",
			Metadata: map[string]string{"NAME": "reviews-v1-7d9f", "NAMESPACE": "shop", "INSTANCE_IPS": "10.1.0.5",
				"SERVICE_ACCOUNT": "bookinfo-reviews", "CLUSTER_ID": "Kubernetes", "WORKLOAD_NAME": "reviews-v1",
				"INTERCEPTION_MODE": "REDIRECT"},
			Labels: map[string]string{"app": "reviews", "security.istio.io/tlsMode": "istio", "version": "v1", "quoted": `a "b"`}},
	}, {
		name: "flags win",
		in: proxy.AgentOptions{Type: "router", Domain: "shop.svc.corp.example", Cluster: "gw",
			Metadata: map[string]string{"CLUSTER_ID": "east"}, Labels: map[string]string{"istio": "ingressgateway"}},
		env: append(podEnv, `ISTIO_METAJSON_LABELS={"app":"other"}`), labels: labelsFile,
		want: proxy.AgentOptions{Type: "router", Domain: "shop.svc.corp.example", Cluster: "gw",
			NodeID: "router~10.1.0.5~reviews-v1-7d9f.shop~shop.svc.corp.example",
			Metadata: map[string]string{"NAME": "reviews-v1-7d9f", "NAMESPACE": "shop", "INSTANCE_IPS": "10.1.0.5",
				"SERVICE_ACCOUNT": "bookinfo-reviews", "CLUSTER_ID": "east", "WORKLOAD_NAME": "reviews-v1",
				"INTERCEPTION_MODE": "REDIRECT"},
			Labels: map[string]string{"istio": "ingressgateway"}},
	}, {
		name: "json labels, no file",
		env:  []string{"POD_NAME=p", "POD_NAMESPACE=n", "INSTANCE_IP=10.0.0.1", `ISTIO_METAJSON_LABELS={"app":"a"}`},
		want: proxy.AgentOptions{NodeID: "sidecar~10.0.0.1~p.n~n.svc.cluster.local", Cluster: "a.n",
			Metadata: map[string]string{"NAME": "p", "NAMESPACE": "n", "INSTANCE_IPS": "10.0.0.1"},
			Labels:   map[string]string{"app": "a"}},
	}, {
		name: "node id given: environment not read",
		in:   proxy.AgentOptions{NodeID: "sidecar~1.2.3.4~x.y~y.svc.cluster.local"}, env: podEnv, labels: labelsFile,
		want: proxy.AgentOptions{NodeID: "sidecar~1.2.3.4~x.y~y.svc.cluster.local"},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := proxy.AgentFromEnv(tc.in, tc.env, tc.labels)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tc.want, got); d != "" {
				t.Errorf("AgentFromEnv (-want +got):\n%s", d)
			}
		})
	}
}

func TestAgentFromEnvErrors(t *testing.T) {
	for _, tc := range []struct {
		env    []string
		labels string
		typ    string
		want   string
	}{
		{env: []string{"POD_NAMESPACE=n"}, want: "no --node-id, and POD_NAME, INSTANCE_IP not set"},
		{env: []string{"POD_NAME=p", "POD_NAMESPACE=n", "INSTANCE_IP=1.1.1.1"}, typ: "gateway", want: `proxy type "gateway"`},
		{env: []string{"POD_NAME=p", "POD_NAMESPACE=n", "INSTANCE_IP=1.1.1.1"}, labels: "app=reviews\n", want: "pod labels line 1"},
		{env: []string{"POD_NAME=p", "POD_NAMESPACE=n", "INSTANCE_IP=1.1.1.1", "ISTIO_METAJSON_LABELS=[1]"}, want: "ISTIO_METAJSON_LABELS"},
	} {
		var labels []byte
		if tc.labels != "" {
			labels = []byte(tc.labels)
		}
		_, err := proxy.AgentFromEnv(proxy.AgentOptions{Type: tc.typ}, tc.env, labels)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("env %v: err = %v, want %q", tc.env, err, tc.want)
		}
	}
}
