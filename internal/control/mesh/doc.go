// Package mesh holds the control plane's immutable view of the mesh — a Snapshot of
// every service, endpoint and config object at one moment, made by Build from the
// config stores and service registries — and the per-node facts (Node) the generators
// read. Generators are pure functions of (Node, Snapshot).
//
// The Snapshot also answers the questions every generator asks, the way Istio answers
// them: which DestinationRule applies to a node's traffic to a host (DestinationRule),
// which VirtualServices are bound to the mesh or a gateway (VirtualServices,
// VirtualServicesForHost), which Gateways a gateway node runs (Gateways), which Sidecar
// resource applies to a node and what it imports (SidecarFor, ScopeFor), and whether a
// service or config object is exported to a namespace (Visible, ConfigVisible). Host
// matching follows Istio's wildcard rules (HostMatches, HostSubsetOf, ResolveHost).
//
// It imports config; never registry (which imports it), ads, xdsgen or the proxy.
package mesh
