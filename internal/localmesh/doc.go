// Package localmesh runs a whole mesh on one machine, the engine behind `weft up`: it
// reads Kubernetes and Istio YAML, runs each pod as a Linux network namespace on a
// bridge (or, without root, on the host's loopback) with its app and a weft sidecar,
// programs the capture with `weft iptables`, feeds the control plane's registry from
// what runs, and starts an ingress gateway. It is also the harness end-to-end tests use.
// It must not be imported by internal/proxy.
package localmesh
