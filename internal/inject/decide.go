package inject

import (
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// IgnoredNamespaces are never injected, whatever their pods say (Istio's list).
var IgnoredNamespaces = []string{metav1.NamespaceSystem, metav1.NamespacePublic, "kube-node-lease", "local-path-storage"}

// Decision is whether a pod gets the sidecar, and why.
type Decision struct {
	Inject bool
	Reason string
}

// Decide is the pod's side of Istio's injection decision, in Istio's order:
//
//   - a pod already injected (sidecar.istio.io/status, or a container named
//     istio-proxy) is left alone, so injection is idempotent;
//   - host-network pods and pods in IgnoredNamespaces are skipped;
//   - the label sidecar.istio.io/inject, else the annotation of that name, decides
//     when set: "true"/"yes"/"y"/"on" injects, any other value skips;
//   - otherwise the policy decides: enabled injects, disabled skips.
//
// Which namespaces are injected at all (istio-injection=enabled, istio.io/rev) is
// decided before this by the webhook configuration's namespaceSelector; see package
// webhook. kube-inject does not look at namespaces.
func Decide(cfg *Config, meta *metav1.ObjectMeta, spec *corev1.PodSpec) Decision {
	if _, ok := meta.Annotations[AnnotationStatus]; ok {
		return Decision{Reason: "already injected (" + AnnotationStatus + " is set)"}
	}
	if hasContainer(spec, ProxyContainerName) {
		return Decision{Reason: "already has a container named " + ProxyContainerName}
	}
	if spec.HostNetwork {
		return Decision{Reason: "the pod uses the host network"}
	}
	if slices.Contains(IgnoredNamespaces, meta.Namespace) {
		return Decision{Reason: "namespace " + meta.Namespace + " is never injected"}
	}
	v, source := meta.Annotations[AnnotationInject], "annotation"
	if l, ok := meta.Labels[LabelInject]; ok {
		v, source = l, "label"
	}
	if v != "" {
		switch strings.ToLower(v) {
		case "y", "yes", "true", "on":
			return Decision{Inject: true, Reason: source + " " + AnnotationInject + " is " + v}
		default:
			return Decision{Reason: source + " " + AnnotationInject + " is " + v}
		}
	}
	if cfg.Policy == PolicyDisabled {
		return Decision{Reason: "the injection policy is disabled and the pod does not ask for injection"}
	}
	return Decision{Inject: true, Reason: "the injection policy is enabled"}
}

func hasContainer(spec *corev1.PodSpec, name string) bool {
	for _, cs := range [][]corev1.Container{spec.Containers, spec.InitContainers} {
		for _, c := range cs {
			if c.Name == name {
				return true
			}
		}
	}
	return false
}
