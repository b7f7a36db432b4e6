// Package config is the control plane's config store: Istio config objects
// (VirtualService, DestinationRule, Gateway, ServiceEntry, WorkloadEntry,
// WorkloadGroup, Sidecar, ...) as istio.io/api messages, with the interface that
// file-based (file/) and Kubernetes-based (kube/) stores implement, and the validation
// that rejects bad config with its file, document, field path and reason.
// It imports istio.io/api and nothing from the proxy.
package config
