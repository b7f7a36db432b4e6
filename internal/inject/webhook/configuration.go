package webhook

import (
	"errors"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/inject"
)

// Target says how the API server reaches the webhook: a Service (the control
// plane's, port 443 to 15017), or a URL (outside the cluster, and in tests).
type Target struct {
	Service *admissionregistrationv1.ServiceReference
	URL     string
}

// Configuration returns the MutatingWebhookConfiguration name (Istio's is
// istio-sidecar-injector) that sends pod creations for revision to the handler at
// target, trusting caBundle (PEM). It has Istio's four webhooks, whose selectors make
// the namespace decisions listed in the package documentation; failures refuse the
// pod (failurePolicy Fail), as in Istio.
func Configuration(name, revision string, target Target, caBundle []byte) (*admissionregistrationv1.MutatingWebhookConfiguration, error) {
	if (target.Service == nil) == (target.URL == "") {
		return nil, errors.New("webhook target: give exactly one of a service and a URL")
	}
	cc := admissionregistrationv1.WebhookClientConfig{CABundle: caBundle}
	if target.Service != nil {
		svc := *target.Service
		svc.Path = ptr(Path)
		cc.Service = &svc
	} else {
		cc.URL = ptr(target.URL)
	}
	notFalse := req(inject.LabelInject, metav1.LabelSelectorOpNotIn, "false")
	isRev := req(inject.LabelRevision, metav1.LabelSelectorOpIn, revision)
	noRev := req(inject.LabelRevision, metav1.LabelSelectorOpDoesNotExist)
	noInjection := req(inject.LabelInjection, metav1.LabelSelectorOpDoesNotExist)
	hook := func(name string, ns, obj []metav1.LabelSelectorRequirement) admissionregistrationv1.MutatingWebhook {
		return admissionregistrationv1.MutatingWebhook{
			Name:                    name,
			ClientConfig:            cc,
			Rules:                   podCreate(),
			NamespaceSelector:       &metav1.LabelSelector{MatchExpressions: ns},
			ObjectSelector:          &metav1.LabelSelector{MatchExpressions: obj},
			FailurePolicy:           ptr(admissionregistrationv1.Fail),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			ReinvocationPolicy:      ptr(admissionregistrationv1.NeverReinvocationPolicy),
			TimeoutSeconds:          ptr(int32(10)),
		}
	}
	return &admissionregistrationv1.MutatingWebhookConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "MutatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{inject.LabelRevision: revision,
			"app": "sidecar-injector"}},
		Webhooks: []admissionregistrationv1.MutatingWebhook{
			// istio.io/rev=<revision> on the namespace, without istio-injection.
			hook("rev.namespace.sidecar-injector.istio.io", []metav1.LabelSelectorRequirement{isRev, noInjection},
				[]metav1.LabelSelectorRequirement{notFalse}),
			// istio.io/rev=<revision> on the pod, in a namespace with neither label.
			hook("rev.object.sidecar-injector.istio.io", []metav1.LabelSelectorRequirement{noRev, noInjection},
				[]metav1.LabelSelectorRequirement{notFalse, isRev}),
			// istio-injection=enabled on the namespace.
			hook("namespace.sidecar-injector.istio.io",
				[]metav1.LabelSelectorRequirement{req(inject.LabelInjection, metav1.LabelSelectorOpIn, "enabled")},
				[]metav1.LabelSelectorRequirement{notFalse}),
			// sidecar.istio.io/inject=true on the pod, in a namespace with neither label.
			hook("object.sidecar-injector.istio.io", []metav1.LabelSelectorRequirement{noInjection, noRev},
				[]metav1.LabelSelectorRequirement{req(inject.LabelInject, metav1.LabelSelectorOpIn, "true"), noRev}),
		},
	}, nil
}

func req(key string, op metav1.LabelSelectorOperator, values ...string) metav1.LabelSelectorRequirement {
	return metav1.LabelSelectorRequirement{Key: key, Operator: op, Values: values}
}

func podCreate() []admissionregistrationv1.RuleWithOperations {
	return []admissionregistrationv1.RuleWithOperations{{
		Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create},
		Rule: admissionregistrationv1.Rule{APIGroups: []string{""}, APIVersions: []string{"v1"},
			Resources: []string{"pods"}},
	}}
}

func ptr[T any](v T) *T { return &v }
