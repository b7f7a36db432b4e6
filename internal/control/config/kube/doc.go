// Package kube is the config store over the Istio CRDs of a Kubernetes cluster
// (networking.istio.io, security.istio.io and telemetry.istio.io, version v1), read with
// istio.io/client-go informers. Every object is checked with config.Validate; an
// invalid one is left out of the store, so that every replica serves the same valid
// config whatever order it saw the edits in, and the rest keeps flowing. StatusWriter,
// a separate component meant for the elected leader, writes each object's validation
// result back to its status (a condition and an IST0106 validation message).
//
// It imports config and the Kubernetes client libraries; never mesh, registry, xdsgen,
// ads or the proxy.
package kube
