package install

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// istioGroups are the API groups of Istio's CRDs.
var istioGroups = []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io"}

func labels(o Options, app string, extra ...string) map[string]string {
	l := map[string]string{"app": app, "app.kubernetes.io/part-of": "weft", "app.kubernetes.io/managed-by": "weft-install",
		"app.kubernetes.io/version": o.Version}
	for i := 0; i+1 < len(extra); i += 2 {
		l[extra[i]] = extra[i+1]
	}
	return l
}

func meta(o Options, name, app string, namespaced bool) metav1.ObjectMeta {
	m := metav1.ObjectMeta{Name: name, Labels: labels(o, app)}
	if namespaced {
		m.Namespace = o.Namespace
	}
	return m
}

func namespace(o Options) *corev1.Namespace {
	return &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
		ObjectMeta: metav1.ObjectMeta{Name: o.Namespace, Labels: map[string]string{"app.kubernetes.io/part-of": "weft"}}}
}

// clusterRoleName names the control plane's ClusterRole and its binding, per
// namespace as Istio's are.
func clusterRoleName(o Options) string { return "istiod-clusterrole-" + o.Namespace }

// controlPlaneAccess is the control plane's ServiceAccount and what it may do: read
// what weft control watches (cluster-wide), write the Istio objects' status, patch
// the webhook configurations' caBundle, keep the istio-ca-root-cert ConfigMap of
// every namespace, record events; in its own namespace, hold the leader Lease and
// keep the CA's Secret.
func controlPlaneAccess(o Options) []runtime.Object {
	read := []string{"get", "list", "watch"}
	cluster := &rbacv1.ClusterRole{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRole"},
		ObjectMeta: meta(o, clusterRoleName(o), ControlPlane, false),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services", "pods", "nodes", "namespaces"}, Verbs: read},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
			{APIGroups: istioGroups, Resources: []string{"*"}, Verbs: read},
			{APIGroups: istioGroups, Resources: []string{"*/status"}, Verbs: []string{"get", "update", "patch"}},
			{APIGroups: []string{"admissionregistration.k8s.io"},
				Resources: []string{"mutatingwebhookconfigurations", "validatingwebhookconfigurations"},
				Verbs:     []string{"get", "list", "watch", "update", "patch"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update"}},
			{APIGroups: []string{"", "events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"create", "update", "patch"}},
		},
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: ControlPlane, Namespace: o.Namespace}}
	clusterBinding := &rbacv1.ClusterRoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "ClusterRoleBinding"},
		ObjectMeta: meta(o, clusterRoleName(o), ControlPlane, false),
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: clusterRoleName(o)},
		Subjects:   subject,
	}
	role := &rbacv1.Role{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
		ObjectMeta: meta(o, ControlPlane, ControlPlane, true),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"},
				Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{CASecret}, Verbs: []string{"get"}},
		},
	}
	binding := &rbacv1.RoleBinding{TypeMeta: metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
		ObjectMeta: meta(o, ControlPlane, ControlPlane, true),
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: ControlPlane},
		Subjects:   subject,
	}
	return []runtime.Object{
		serviceAccount(o, ControlPlane, ControlPlane),
		cluster, clusterBinding, role, binding,
	}
}

func serviceAccount(o Options, name, app string) *corev1.ServiceAccount {
	return &corev1.ServiceAccount{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
		ObjectMeta: meta(o, name, app, true)}
}
