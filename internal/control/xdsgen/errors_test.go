package xdsgen

import (
	"errors"
	"strings"
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// firstError generates every type for the node and returns the first error.
func firstError(node *mesh.Node, snap *mesh.Snapshot) error {
	for _, typ := range []string{ListenerType, RouteType, ClusterType, EndpointType} {
		if _, err := Generate(node, snap, typ); err != nil {
			return err
		}
	}
	return nil
}

// TestUnsupported: what weft cannot translate is an error naming the object, the field
// as users write it, and why; it is never dropped.
func TestUnsupported(t *testing.T) {
	vs := func(http string) string {
		return "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\nspec:\n  hosts: [reviews]\n" + http
	}
	dr := func(policy string) string {
		return "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: reviews}\nspec:\n  host: reviews\n" + policy
	}
	gw := func(tls string) string {
		return "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  selector: {istio: ingressgateway}\n" +
			"  servers: [{port: {number: 443, name: https, protocol: HTTPS}, hosts: ['*'], tls: " + tls + "}]\n"
	}
	const route = "    route: [{destination: {host: reviews}}]\n"
	cases := []struct {
		name   string
		yaml   string
		node   func() *mesh.Node
		kind   config.Kind
		path   string
		reason string
	}{
		{"cors", vs("  http:\n  - corsPolicy: {allowOrigins: [{exact: a.com}]}\n" + route), productpage, config.VirtualService, "spec.http[0].corsPolicy", "CORS"},
		{"delegate", vs("  http:\n  - delegate: {name: other}\n"), productpage, config.VirtualService, "spec.http[0].delegate", "delegation"},
		{"stat prefix", vs("  http:\n  - match: [{statPrefix: x}]\n" + route), productpage, config.VirtualService, "spec.http[0].match[0].statPrefix", "stat"},
		{"retry localities", vs("  http:\n  - retries: {attempts: 2, retryRemoteLocalities: true}\n" + route), productpage, config.VirtualService, "spec.http[0].retries.retryRemoteLocalities", "priority"},
		{"retry condition", vs("  http:\n  - retries: {attempts: 2, retryOn: 'bogus'}\n" + route), productpage, config.VirtualService, "spec.http[0].retries.retryOn", "bogus"},
		{"exponential delay", vs("  http:\n  - fault: {delay: {exponentialDelay: 1s}}\n" + route), productpage, config.VirtualService, "spec.http[0].fault.delay.exponentialDelay", "exponential"},
		{"grpc status", vs("  http:\n  - fault: {abort: {grpcStatus: NOPE, percentage: {value: 1}}}\n" + route), productpage, config.VirtualService, "spec.http[0].fault.abort.grpcStatus", "NOPE"},
		{"redirect code", vs("  http:\n  - redirect: {uri: /x, redirectCode: 305}\n"), productpage, config.VirtualService, "spec.http[0].redirect.redirectCode", "305"},
		{"bad regex", vs("  http:\n  - match: [{uri: {regex: '('}}]\n" + route), productpage, config.VirtualService, "spec.http[0].match[0].uri.regex", "missing closing"},
		{"pseudo header", vs("  http:\n  - headers: {request: {set: {':path': /x}}}\n" + route), productpage, config.VirtualService, "spec.http[0].headers.request.set[:path]", "pseudo"},
		{"tcp subnets", vs("  tcp:\n  - match: [{destinationSubnets: [10.0.0.0/8]}]\n" + route), productpage, config.VirtualService, "spec.tcp[0].match[0].destinationSubnets", "subnet"},
		{"percentage", vs("  http:\n  - mirror: {host: reviews}\n    mirrorPercentage: {value: 150}\n" + route), productpage, config.VirtualService, "spec.http[0].mirrorPercentage", "150"},
		{"client credentialName", dr("  trafficPolicy: {tls: {mode: SIMPLE, credentialName: cert}}\n"), productpage, config.DestinationRule, "spec.trafficPolicy.tls.credentialName", "SDS"},
		{"istio mutual under strict", dr("  trafficPolicy: {tls: {mode: ISTIO_MUTUAL}}\n") + "---\napiVersion: security.istio.io/v1\nkind: PeerAuthentication\n" +
			"metadata: {name: default, namespace: istio-system}\nspec: {mtls: {mode: STRICT}}\n", productpage, config.DestinationRule, "spec.trafficPolicy.tls.mode", "CA"},
		{"mutual without certificates", dr("  subsets: [{name: v1, labels: {version: v1}, trafficPolicy: {tls: {mode: MUTUAL}}}]\n"), productpage, config.DestinationRule, "spec.subsets[0].trafficPolicy.tls", "clientCertificate"},
		{"tcp keepalive", dr("  trafficPolicy: {connectionPool: {tcp: {tcpKeepalive: {time: 10s}}}}\n"), productpage, config.DestinationRule, "spec.trafficPolicy.connectionPool.tcp.tcpKeepalive", "keepalive"},
		{"locality", dr("  trafficPolicy: {loadBalancer: {localityLbSetting: {enabled: true}}}\n"), productpage, config.DestinationRule, "spec.trafficPolicy.loadBalancer.localityLbSetting", "locality"},
		{"proxy protocol", dr("  trafficPolicy: {proxyProtocol: {version: V1}}\n"), productpage, config.DestinationRule, "spec.trafficPolicy.proxyProtocol", "PROXY"},
		{"proxyless random", dr("  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n"), grpcClient, config.DestinationRule, "spec.trafficPolicy.loadBalancer", "gRPC"},
		{"gateway credentialName", gw("{mode: SIMPLE, credentialName: bookinfo-cert}"), ingress, config.Gateway, "spec.servers[0].tls.credentialName", "SDS"},
		{"gateway istio mutual", gw("{mode: ISTIO_MUTUAL}"), ingress, config.Gateway, "spec.servers[0].tls.mode", "CA"},
		{"gateway without certificates", gw("{mode: SIMPLE}"), ingress, config.Gateway, "spec.servers[0].tls", "serverCertificate"},
		{"sidecar ingress", "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default}\nspec: {ingress: [{port: {number: 9080, protocol: HTTP, name: http}, defaultEndpoint: '127.0.0.1:9080'}]}\n",
			productpage, config.Sidecar, "spec.ingress", "ingress"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := bookinfo(t).yaml("default", tc.yaml)
			err := firstError(tc.node(), w.snap)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("want a *FieldError, got %v", err)
			}
			if fe.Kind != tc.kind || fe.Path != tc.path || !strings.Contains(fe.Reason, tc.reason) {
				t.Errorf("got %s %s %q, want %s %s and a reason mentioning %q", fe.Kind, fe.Path, fe.Reason, tc.kind, tc.path, tc.reason)
			}
			if msg := err.Error(); msg != strings.ToLower(msg[:1])+msg[1:] {
				t.Errorf("error should start lowercase: %s", msg)
			}
		})
	}
}

// TestIstioMutualWithoutCA: without a PeerAuthentication asking for STRICT mTLS,
// ISTIO_MUTUAL clusters stay plaintext (weft has no CA yet; the servers accept
// plaintext), so destination-rule-all-mtls.yaml keeps bookinfo working.
func TestIstioMutualWithoutCA(t *testing.T) {
	w := bookinfo(t).file("default", "destination-rule-all-mtls.yaml")
	rs, err := Generate(productpage(), w.snap, ClusterType)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if ts := r.Message.(*clusterv3.Cluster).GetTransportSocket(); ts != nil {
			t.Errorf("%s: unexpected transport socket %s", r.Name, ts.GetName())
		}
	}
}

// TestUnknownType: types the generators do not make (secrets) yield nothing.
func TestUnknownType(t *testing.T) {
	rs, err := Generate(productpage(), bookinfo(t).snap, "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret")
	if err != nil || len(rs) != 0 {
		t.Errorf("got %d resources, %v", len(rs), err)
	}
}
