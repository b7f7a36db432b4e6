// Package lb implements Envoy's load balancers: round robin, least request, random, ring
// hash and Maglev, with Envoy's priority levels (health × overprovisioning factor, spill to
// lower priorities, normalisation), degraded hosts, panic mode, locality-weighted balancing
// and host re-selection for retry host predicates.
//
// The upstream package describes the hosts of a cluster with HostSet values and builds a
// Policy with New whenever membership, weights or health change; the Policy is immutable
// apart from atomic counters, and its Pick is safe for concurrent use, takes no locks and
// does not allocate. FromCluster turns the load-balancing fields of an Envoy Cluster into a
// Kind and Options, and the package registers those fields with config.Support.
//
// Package lb stands on its own: it imports nothing from the proxy except
// internal/proxy/config, and nothing from the control plane.
package lb
