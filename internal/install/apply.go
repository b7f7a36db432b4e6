package install

import (
	"context"
	"fmt"
	"slices"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
)

// FieldManager owns the fields weft install applies (server-side apply).
const FieldManager = "weft-install"

// resources maps the kinds Objects makes (and those the control plane makes for
// itself, which Uninstall removes) to their API resources. A static table: install
// needs no discovery, and a kind missing here is a bug the tests catch.
var resources = map[schema.GroupVersionKind]struct {
	resource   string
	namespaced bool
}{
	{Version: "v1", Kind: "Namespace"}:                                               {"namespaces", false},
	{Version: "v1", Kind: "ServiceAccount"}:                                          {"serviceaccounts", true},
	{Version: "v1", Kind: "ConfigMap"}:                                               {"configmaps", true},
	{Version: "v1", Kind: "Secret"}:                                                  {"secrets", true},
	{Version: "v1", Kind: "Service"}:                                                 {"services", true},
	{Group: "apps", Version: "v1", Kind: "Deployment"}:                               {"deployments", true},
	{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"}: {"customresourcedefinitions", false},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole"}:         {"clusterroles", false},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRoleBinding"}:  {"clusterrolebindings", false},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "Role"}:                {"roles", true},
	{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "RoleBinding"}:         {"rolebindings", true},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "MutatingWebhookConfiguration"}: {
		"mutatingwebhookconfigurations", false},
	{Group: "admissionregistration.k8s.io", Version: "v1", Kind: "ValidatingWebhookConfiguration"}: {
		"validatingwebhookconfigurations", false},
	{Group: "coordination.k8s.io", Version: "v1", Kind: "Lease"}: {"leases", true},
}

// ResourceClient returns the dynamic client for obj's kind and namespace, for the
// kinds weft install makes.
func ResourceClient(dyn dynamic.Interface, obj *unstructured.Unstructured) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	r, ok := resources[gvk]
	if !ok {
		return nil, fmt.Errorf("%s %s: kind %s unknown to weft install", obj.GetKind(), obj.GetName(), gvk)
	}
	ri := dyn.Resource(gvk.GroupVersion().WithResource(r.resource))
	if r.namespaced {
		return ri.Namespace(obj.GetNamespace()), nil
	}
	return ri, nil
}

// Report is told what happened to each object: "created", "configured",
// "unchanged", "deleted" or "not found".
type Report func(obj *unstructured.Unstructured, what string)

// Apply server-side applies objs in order, taking over fields other managers set
// (as istioctl install does), then waits until the API server serves every CRD
// among them. Applying the same objects again changes nothing.
func Apply(ctx context.Context, dyn dynamic.Interface, objs []*unstructured.Unstructured, report Report) error {
	var crds []*unstructured.Unstructured
	for _, obj := range objs {
		ri, err := ResourceClient(dyn, obj)
		if err != nil {
			return err
		}
		before, err := ri.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			before = nil
		} else if err != nil {
			return fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		after, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		if err != nil {
			return fmt.Errorf("apply %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		switch {
		case before == nil:
			report(obj, "created")
		case before.GetResourceVersion() == after.GetResourceVersion():
			report(obj, "unchanged")
		default:
			report(obj, "configured")
		}
		if obj.GetKind() == "CustomResourceDefinition" {
			crds = append(crds, after)
		}
	}
	return waitEstablished(ctx, dyn, crds)
}

// waitEstablished waits up to a minute for each CRD's Established condition.
func waitEstablished(ctx context.Context, dyn dynamic.Interface, crds []*unstructured.Unstructured) error {
	for _, crd := range crds {
		ri, err := ResourceClient(dyn, crd)
		if err != nil {
			return err
		}
		err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			got, err := ri.Get(ctx, crd.GetName(), metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			return Established(got), nil
		})
		if err != nil {
			return fmt.Errorf("CustomResourceDefinition %s not established: %w", crd.GetName(), err)
		}
	}
	return nil
}

// Established says whether a CustomResourceDefinition is served.
func Established(crd *unstructured.Unstructured) bool {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return true
		}
	}
	return false
}

// UninstallOptions change what Uninstall removes.
type UninstallOptions struct {
	// KeepCRDs keeps Istio's CRDs, and with them every Istio object in the cluster.
	KeepCRDs bool
}

// protectedNamespaces are never deleted, even when the control plane was installed
// there.
var protectedNamespaces = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// Uninstall deletes objs (what Objects made) in reverse order, and what the control
// plane made for itself in its namespace (the CA's Secret and the leader Lease). What
// is already gone is reported "not found". Deleting the CRDs deletes every Istio
// object; deleting the namespace deletes everything in it. It does not wait for
// the objects to be gone.
func Uninstall(ctx context.Context, dyn dynamic.Interface, objs []*unstructured.Unstructured, opts UninstallOptions, report Report) error {
	var ns string
	if len(objs) > 0 && objs[0].GetKind() == "Namespace" {
		ns = objs[0].GetName()
	}
	objs = slices.Clone(objs)
	slices.Reverse(objs)
	if ns != "" {
		// Before the namespace, which is last.
		made := []*unstructured.Unstructured{object("v1", "Secret", ns, CASecret), object("coordination.k8s.io/v1", "Lease", ns, LeaderLease)}
		objs = slices.Insert(objs, len(objs)-1, made...)
	}
	background := metav1.DeletePropagationBackground
	for _, obj := range objs {
		if obj.GetKind() == "CustomResourceDefinition" && opts.KeepCRDs ||
			obj.GetKind() == "Namespace" && slices.Contains(protectedNamespaces, obj.GetName()) {
			continue
		}
		ri, err := ResourceClient(dyn, obj)
		if err != nil {
			return err
		}
		err = ri.Delete(ctx, obj.GetName(), metav1.DeleteOptions{PropagationPolicy: &background})
		switch {
		case apierrors.IsNotFound(err):
			report(obj, "not found")
		case err != nil:
			return fmt.Errorf("delete %s %s: %w", obj.GetKind(), obj.GetName(), err)
		default:
			report(obj, "deleted")
		}
	}
	return nil
}

func object(apiVersion, kind, ns, name string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{}
	u.SetAPIVersion(apiVersion)
	u.SetKind(kind)
	u.SetNamespace(ns)
	u.SetName(name)
	return u
}
