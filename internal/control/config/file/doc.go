// Package file is the config store over a directory of Istio YAML (or JSON) files: read
// recursively, multi-document, Kubernetes-style objects of networking.istio.io (v1,
// v1beta1, v1alpha3), security.istio.io and telemetry.istio.io parsed into istio.io/api
// messages, validated, and watched with fsnotify. Invalid documents are reported and
// skipped while the rest keeps flowing; objects of other kinds are listed, not served.
// It imports config; never mesh, registry, xdsgen, ads or the proxy.
package file
