// Package webhook is the sidecar injection admission webhook: an HTTPS handler for
// AdmissionReview v1 at /inject that answers a pod's creation with a JSON patch made
// by package inject, the same code `weft kube-inject` runs, and the
// MutatingWebhookConfiguration that sends pods to it.
//
// The injection decision is split the way Istio splits it. The webhook
// configuration (Configuration) decides with selectors, before the handler sees a
// pod:
//
//   - namespaces labelled istio-injection=enabled, or istio.io/rev=<revision>
//     without istio-injection, send their pods, except pods labelled
//     sidecar.istio.io/inject=false;
//   - in namespaces with neither label, only pods labelled
//     sidecar.istio.io/inject=true (or istio.io/rev=<revision>) are sent;
//   - only pod CREATE operations are sent.
//
// The handler then decides what needs the pod itself (inject.Decide): already
// injected, host network, the annotation sidecar.istio.io/inject, the injector's
// policy, never-injected system namespaces. A pod whose injection annotations are
// invalid is refused with the injector's error, as Istio does.
//
// The package imports Kubernetes' API types and package inject. It must not import
// the proxy or the rest of the control plane: the serving certificate comes from
// the caller (see internal/control/ca).
package webhook
