package install

import (
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/weftmesh/weft/internal/inject/webhook"
)

// ValidatePath is where the control plane validates Istio config (AdmissionReview v1).
const ValidatePath = "/validate"

// validatedResources are the Istio kinds weft validates, by API group: the kinds the
// control plane reads.
var validatedResources = []struct {
	group     string
	resources []string
}{
	{"networking.istio.io", []string{"virtualservices", "destinationrules", "gateways", "serviceentries", "workloadentries",
		"workloadgroups", "sidecars"}},
	{"security.istio.io", []string{"peerauthentications", "authorizationpolicies", "requestauthentications"}},
	{"telemetry.istio.io", []string{"telemetries"}},
}

// webhooks are the sidecar injection webhook's configuration (Istio's selectors, from
// package webhook) and the validation webhook's, both calling the istiod Service on
// 443. Their caBundle is left empty: the control plane's leader keeps it equal to
// its CA's root.
func webhooks(o Options) ([]runtime.Object, error) {
	svc := &admissionregistrationv1.ServiceReference{Namespace: o.Namespace, Name: ControlPlane, Port: ptr(int32(443))}
	mutating, err := webhook.Configuration(InjectorWebhook, "default", webhook.Target{Service: svc}, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range labels(o, "sidecar-injector") {
		mutating.Labels[k] = v
	}
	return []runtime.Object{mutating, validating(o, svc)}, nil
}

// validating is Istio's validation webhook configuration: creates and updates of
// the Istio kinds weft reads go to the control plane's /validate, and a failing call
// refuses the object (failurePolicy Fail). There is one revision: every object is
// validated, whatever its istio.io/rev label.
func validating(o Options, svc *admissionregistrationv1.ServiceReference) *admissionregistrationv1.ValidatingWebhookConfiguration {
	target := *svc
	target.Path = ptr(ValidatePath)
	var rules []admissionregistrationv1.RuleWithOperations
	for _, g := range validatedResources {
		rules = append(rules, admissionregistrationv1.RuleWithOperations{
			Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
			Rule: admissionregistrationv1.Rule{APIGroups: []string{g.group}, APIVersions: []string{"*"},
				Resources: g.resources, Scope: ptr(admissionregistrationv1.AllScopes)},
		})
	}
	return &admissionregistrationv1.ValidatingWebhookConfiguration{
		TypeMeta: metav1.TypeMeta{APIVersion: "admissionregistration.k8s.io/v1", Kind: "ValidatingWebhookConfiguration"},
		ObjectMeta: metav1.ObjectMeta{Name: ValidatorWebhook(o.Namespace),
			Labels: labels(o, ControlPlane, "istio", "istiod", "istio.io/rev", "default")},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:                    "rev.validation.istio.io",
			ClientConfig:            admissionregistrationv1.WebhookClientConfig{Service: &target},
			Rules:                   rules,
			FailurePolicy:           ptr(admissionregistrationv1.Fail),
			SideEffects:             ptr(admissionregistrationv1.SideEffectClassNone),
			AdmissionReviewVersions: []string{"v1"},
			TimeoutSeconds:          ptr(int32(10)),
		}},
	}
}
