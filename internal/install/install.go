package install

import (
	"bytes"
	"errors"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"
)

// Options say what to install. The zero value of a field means its default.
type Options struct {
	// Namespace holds the control plane and the gateway (default istio-system).
	Namespace string
	// Image is weft's container image (default ghcr.io/weftmesh/weft:<Version>).
	Image string
	// Version is weft's version, for the default image and the labels.
	Version string
	// Replicas is the number of control plane replicas (default 2): every replica
	// serves xDS and the webhooks, the elected leader runs the singleton jobs.
	Replicas int32
	// GatewayReplicas is the number of ingress gateway replicas (default 1).
	GatewayReplicas int32
	// NoGateway leaves the ingress gateway out.
	NoGateway bool
}

// Names of what Objects makes, as Istio names them.
const (
	DefaultNamespace = "istio-system"
	// ControlPlane names the control plane's Deployment, Service and ServiceAccount.
	ControlPlane = "istiod"
	// Gateway names the ingress gateway's Deployment and Service.
	Gateway = "istio-ingressgateway"
	// InjectorWebhook names the MutatingWebhookConfiguration and the injector's
	// ConfigMap.
	InjectorWebhook = "istio-sidecar-injector"
	// CASecret is the Secret the control plane keeps its CA's root in (made by the
	// control plane, not by Objects).
	CASecret = "istio-ca-secret"
	// LeaderLease is the Lease the control plane's replicas elect their leader with.
	LeaderLease = "istio-leader"
)

// ValidatorWebhook names the ValidatingWebhookConfiguration of the control plane in
// namespace, as Istio names it.
func ValidatorWebhook(namespace string) string { return "istio-validator-" + namespace }

func (o Options) withDefaults() (Options, error) {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Image == "" {
		o.Image = "ghcr.io/weftmesh/weft:" + o.Version
	}
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	if o.GatewayReplicas == 0 {
		o.GatewayReplicas = 1
	}
	if o.Replicas < 0 || o.GatewayReplicas < 0 {
		return o, errors.New("replicas must not be negative")
	}
	return o, nil
}

// Objects returns the objects to install, in the order to apply them: the
// namespace, the CRDs, the control plane's identity and RBAC, the control plane, the
// webhook configurations, the gateway.
func Objects(o Options) ([]*unstructured.Unstructured, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	crds, err := CRDs()
	if err != nil {
		return nil, err
	}
	typed := []runtime.Object{namespace(o)}
	typed = append(typed, controlPlaneAccess(o)...)
	typed = append(typed, controlPlane(o)...)
	hooks, err := webhooks(o)
	if err != nil {
		return nil, err
	}
	typed = append(typed, hooks...)
	if !o.NoGateway {
		typed = append(typed, gateway(o)...)
	}
	objs := make([]*unstructured.Unstructured, 0, len(typed)+len(crds))
	for i, obj := range typed {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
		if err != nil {
			return nil, err
		}
		// creationTimestamp: null and status: {} are noise in a manifest.
		unstructured.RemoveNestedField(u, "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u, "spec", "template", "metadata", "creationTimestamp")
		unstructured.RemoveNestedField(u, "status")
		objs = append(objs, &unstructured.Unstructured{Object: u})
		if i == 0 {
			objs = append(objs, crds...)
		}
	}
	return objs, nil
}

// Manifest returns Objects as multi-document YAML.
func Manifest(o Options) ([]byte, error) {
	objs, err := Objects(o)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	for i, obj := range objs {
		y, err := yaml.Marshal(obj.Object)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		if i > 0 {
			b.WriteString("---\n")
		}
		b.Write(y)
	}
	return b.Bytes(), nil
}
