// Package install makes the Kubernetes manifests that run weft as a cluster's mesh,
// as `istioctl manifest generate` does for Istio, and applies or removes them with a
// dynamic client (`weft install`, `weft uninstall`): the control plane's namespace,
// Istio's CRDs, the control plane (ServiceAccount, RBAC, the istiod Deployment and
// Service, the injector's config), the sidecar injection and validation webhook
// configurations, and an ingress gateway.
//
// Objects is a pure function of Options; Apply and Uninstall are the only parts that
// talk to an API server. The package imports the Kubernetes API types and client-go,
// and package inject/webhook for the injection webhook's configuration. It must not
// import the control plane or the proxy: the manifests name weft's flags, nothing more.
package install
