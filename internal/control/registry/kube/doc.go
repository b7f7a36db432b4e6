// Package kube is the service registry of a Kubernetes cluster, read with client-go
// informers the way istiod reads it: Services become mesh services (hostname
// name.namespace.svc.<domain>, ClusterIPs, ports with protocols from appProtocol or the
// port name), EndpointSlices become their endpoints (ready ones healthy, the rest
// unhealthy, target ports from the slice's ports), and the Pods, Nodes and Namespaces
// behind them give each endpoint its labels, SPIFFE identity, locality and network.
//
// A change to a Service is a registry.ServicesChanged event; a change to an
// EndpointSlice, or to a pod or node behind one, that changes only endpoints is a
// registry.EndpointsChanged event, so that the ADS server pushes EDS alone.
//
// It imports mesh, registry and client-go; never config stores, xdsgen, ads or the
// proxy.
package kube
