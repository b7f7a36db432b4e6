// Package serviceentry is the service registry built from Istio's ServiceEntry and
// WorkloadEntry objects in a config store, with Istio's semantics: one service per
// ServiceEntry host, endpoints from the entry's inline endpoints or from the
// WorkloadEntries its workloadSelector picks, and one endpoint per host for DNS
// services without endpoints. Changes that touch only endpoints are reported as
// registry.EndpointsChanged, so that the server can push EDS alone.
// It imports config, mesh and registry; never xdsgen, ads or the proxy.
package serviceentry
