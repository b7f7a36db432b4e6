package proxy_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/weftmesh/weft/internal/proxy"
)

// TestInternalOrigin: the connection manager decides, as Envoy does, whether a request
// comes from inside: x-envoy-internal is set only by the proxy (a client that sends it
// from outside has it removed), the route table's internal_only_headers and the
// caller-identity headers are removed from external requests, and at the edge
// (use_remote_address) an outside client can neither steer retries and timeouts with
// x-envoy-* headers nor choose its x-request-id.
func TestInternalOrigin(t *testing.T) {
	t.Parallel()
	up := echoServer(t)
	listener := func(name, extra string) string {
		l := hcmListener(name, echoRoute, extra)
		return strings.Replace(l, "            name: local\n", "            name: local\n            internal_only_headers: [x-secret]\n", 1)
	}
	b := bootstrapOf(t, listener("edge", "use_remote_address: true")+listener("mesh", "")+
		listener("hops", "use_remote_address: true\nxff_num_trusted_hops: 1"),
		staticCluster("echo", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})

	cases := []struct {
		listener, xff string
		internal      bool
		keepEdgeOnly  bool
		keepRequestID bool
		external      string // x-envoy-external-address: set at the edge, passed on elsewhere
	}{
		{"edge", "", true, true, true, "spoofed"},                                 // loopback, no XFF: internal
		{"edge", "203.0.113.7", false, false, false, "127.0.0.1"},                 // XFF at the edge: external
		{"hops", "198.51.100.1, 203.0.113.7", false, false, false, "203.0.113.7"}, // one trusted hop
		{"mesh", "10.1.2.3", true, true, true, "spoofed"},                         // one internal address in XFF
		{"mesh", "203.0.113.7", false, true, true, "spoofed"},                     // external, but not at the edge
		{"mesh", "", false, true, true, "spoofed"},                                // no XFF: not internal
	}
	for _, tc := range cases {
		req, _ := http.NewRequest("GET", listenerURL(t, p, tc.listener)+"/", nil)
		req.Header.Set("X-Envoy-Internal", "true")
		req.Header.Set("X-Secret", "s")
		req.Header.Set("X-Envoy-Force-Trace", "true")
		req.Header.Set("X-Request-Id", "chosen-by-client")
		req.Header.Set("X-Envoy-External-Address", "spoofed")
		if tc.xff != "" {
			req.Header.Set("X-Forwarded-For", tc.xff)
		}
		_, e := getEcho(t, nil, req)
		name := tc.listener + " xff=" + tc.xff
		if got := e.Headers["X-Envoy-Internal"]; (got == "true") != tc.internal {
			t.Errorf("%s: x-envoy-internal = %q, want internal=%v", name, got, tc.internal)
		}
		if _, ok := e.Headers["X-Secret"]; ok != tc.internal {
			t.Errorf("%s: internal-only header kept=%v, want %v", name, ok, tc.internal)
		}
		if _, ok := e.Headers["X-Envoy-Force-Trace"]; ok != tc.keepEdgeOnly {
			t.Errorf("%s: x-envoy-force-trace (edge-only) kept=%v, want %v", name, ok, tc.keepEdgeOnly)
		}
		if got := e.Headers["X-Envoy-External-Address"]; got != tc.external {
			t.Errorf("%s: x-envoy-external-address = %q, want %q", name, got, tc.external)
		}
		if got := e.Headers["X-Request-Id"]; (got == "chosen-by-client") != tc.keepRequestID || got == "" {
			t.Errorf("%s: x-request-id = %q, want the client's kept=%v", name, got, tc.keepRequestID)
		}
	}
}
