package xdsgen

import (
	"testing"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// resilienceWorld exercises most of VirtualService and DestinationRule: matches of
// every kind, weights with per-destination headers, rewrite, headers, timeout, retries,
// mirror, redirect, direct response, source labels; connection pools, outlier
// detection, per-subset and per-port policies, consistent hashing, fault aborts.
func resilienceWorld(t testing.TB) *world {
	return bookinfo(t).worldFile("default", "resilience.yaml")
}

// egressWorld has a DNS ServiceEntry with TLS origination (Istio's googleapis sample),
// a TCP service with a VIP and weighted tcp routes, a TLS service without a VIP routed
// by SNI, a sniffed service, and a passthrough database.
func egressWorld(t testing.TB) *world {
	w := bookinfo(t)
	w.service(&mesh.Service{Hostname: "www.googleapis.com", Namespace: "default", Resolution: mesh.DNSLB,
		Ports: []mesh.Port{{Name: "http", Number: 80, Protocol: mesh.HTTP}, {Name: "https", Number: 443, Protocol: mesh.HTTPS}}, MeshExternal: true})
	mongo := w.service(&mesh.Service{Hostname: "mongodb", Namespace: "default", Addresses: []string{"10.96.0.20"},
		Ports: []mesh.Port{{Name: "mongo", Number: 27017, Protocol: mesh.TCP}}})
	w.endpoint(mongo, "10.1.0.40", map[string]string{"app": "mongodb", "version": "v1"})
	w.endpoint(mongo, "10.1.0.41", map[string]string{"app": "mongodb", "version": "v2"})
	w.service(&mesh.Service{Hostname: "secure-api.example.com", Namespace: "default", Resolution: mesh.DNSLB,
		Ports: []mesh.Port{{Name: "tls", Number: 8443, Protocol: mesh.TLS}}, MeshExternal: true})
	legacy := w.service(&mesh.Service{Hostname: "legacy", Namespace: "default", Addresses: []string{"10.96.0.21"},
		Ports: []mesh.Port{{Name: "legacy", Number: 7070, Protocol: mesh.Unsupported}}})
	w.endpoint(legacy, "10.1.0.42", map[string]string{"app": "legacy"})
	w.service(&mesh.Service{Hostname: "external-db.example.com", Namespace: "default", Resolution: mesh.Passthrough,
		Ports: []mesh.Port{{Name: "pg", Number: 5432, Protocol: mesh.TCP}}, MeshExternal: true})
	return w.file("default", "egress-rule-google-apis.yaml").worldFile("default", "egress.yaml")
}

// gatewayTLSWorld has an edge Gateway with an HTTP port that redirects to HTTPS, a
// terminated HTTPS server, a TLS passthrough server on the same port, a MUTUAL server
// and a TCP port, each with bound VirtualServices.
func gatewayTLSWorld(t testing.TB) *world {
	return bookinfo(t).worldFile("istio-system", "gateway-tls.yaml")
}
