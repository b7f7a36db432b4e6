// Package registry is service discovery for the control plane: the interface that
// every registry implements (ServiceEntry/WorkloadEntry in serviceentry/, Kubernetes
// in kube/ later, fixed sets in memory/), producing mesh.Service and mesh.Endpoint.
// It imports config and mesh; never ads, xdsgen or the proxy.
package registry
