// Package xdsgen turns the control plane's view of the mesh into Envoy xDS resources:
// Generate(node, snapshot, typeURL) returns the listeners, routes, clusters or
// endpoints one node should have, laid out as Istio lays them out (virtualOutbound on
// 15001, virtualInbound on 15006, per-port outbound listeners, route configurations
// named by port, clusters named outbound|port|subset|host) so that operators' habits
// and tools carry over. Sidecars, gateways (Gateway servers with their bound
// VirtualServices) and proxyless gRPC clients (API listeners) each get their shape.
//
// Generators are pure functions of (node, snapshot): they keep no state between calls,
// read no clock and no environment, and return the same resources for the same input.
// Istio config that cannot be expressed in what the weft proxy implements is an error
// naming the Istio field (a *FieldError), never silently dropped. Every resource is
// validated before it is returned: protoc-gen-validate rules, and the proxy's own
// coverage check (internal/proxy/config.Check) when the proxy's packages are linked in.
//
// It imports internal/control/mesh and internal/control/config, istio.io/api,
// go-control-plane's types, and from the proxy only internal/proxy/config (a leaf
// package of plain validation). It must not import internal/control/ads or registry,
// any other internal/proxy package, or Kubernetes.
package xdsgen
