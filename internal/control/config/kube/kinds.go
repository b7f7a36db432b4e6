package kube

import (
	"fmt"

	"google.golang.org/protobuf/proto"
	analysisv1alpha1 "istio.io/api/analysis/v1alpha1"
	metav1alpha1 "istio.io/api/meta/v1alpha1"
	networkingv1 "istio.io/client-go/pkg/apis/networking/v1"
	securityv1 "istio.io/client-go/pkg/apis/security/v1"
	telemetryv1 "istio.io/client-go/pkg/apis/telemetry/v1"
	"istio.io/client-go/pkg/clientset/versioned"
	"istio.io/client-go/pkg/informers/externalversions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	"github.com/weftmesh/weft/internal/control/config"
)

// kindInfo says where a kind lives in the API and how to watch it.
type kindInfo struct {
	kind config.Kind
	// groupVersion is the served version the store reads: "networking.istio.io/v1".
	groupVersion string
	// resource is the plural resource name: "virtualservices".
	resource string
	informer func(externalversions.SharedInformerFactory) cache.SharedIndexInformer
	rest     func(versioned.Interface) rest.Interface
}

func networking(c versioned.Interface) rest.Interface { return c.NetworkingV1().RESTClient() }
func security(c versioned.Interface) rest.Interface   { return c.SecurityV1().RESTClient() }
func telemetry(c versioned.Interface) rest.Interface  { return c.TelemetryV1().RESTClient() }

// kinds lists every kind the store reads, in config.Kinds' order.
var kinds = []kindInfo{
	{config.VirtualService, "networking.istio.io/v1", "virtualservices",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Networking().V1().VirtualServices().Informer()
		}, networking},
	{config.DestinationRule, "networking.istio.io/v1", "destinationrules",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Networking().V1().DestinationRules().Informer()
		}, networking},
	{config.Gateway, "networking.istio.io/v1", "gateways",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Networking().V1().Gateways().Informer()
		}, networking},
	{config.ServiceEntry, "networking.istio.io/v1", "serviceentries",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Networking().V1().ServiceEntries().Informer()
		}, networking},
	{config.WorkloadEntry, "networking.istio.io/v1", "workloadentries",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Networking().V1().WorkloadEntries().Informer()
		}, networking},
	{config.WorkloadGroup, "networking.istio.io/v1", "workloadgroups",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Networking().V1().WorkloadGroups().Informer()
		}, networking},
	{config.Sidecar, "networking.istio.io/v1", "sidecars",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Networking().V1().Sidecars().Informer()
		}, networking},
	{config.PeerAuthentication, "security.istio.io/v1", "peerauthentications",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Security().V1().PeerAuthentications().Informer()
		}, security},
	{config.AuthorizationPolicy, "security.istio.io/v1", "authorizationpolicies",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Security().V1().AuthorizationPolicies().Informer()
		}, security},
	{config.RequestAuthentication, "security.istio.io/v1", "requestauthentications",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Security().V1().RequestAuthentications().Informer()
		}, security},
	{config.Telemetry, "telemetry.istio.io/v1", "telemetries",
		func(f externalversions.SharedInformerFactory) cache.SharedIndexInformer {
			return f.Telemetry().V1().Telemetries().Informer()
		}, telemetry},
}

// kindOf returns the watch information of a kind.
func kindOf(k config.Kind) (kindInfo, bool) {
	for _, ki := range kinds {
		if ki.kind == k {
			return ki, true
		}
	}
	return kindInfo{}, false
}

// statusMessage is an Istio object's status: IstioStatus, or ServiceEntryStatus, which
// adds allocated addresses.
type statusMessage interface {
	proto.Message
	GetConditions() []*metav1alpha1.IstioCondition
	GetValidationMessages() []*analysisv1alpha1.AnalysisMessageBase
}

// object is one Istio object as the informers hold it, taken apart.
type object struct {
	kind   config.Kind
	meta   *metav1.ObjectMeta
	spec   proto.Message
	status statusMessage
}

// split takes an informer's object apart. The spec and status point into the object,
// which the informer never changes.
func split(obj any) (object, error) {
	switch o := obj.(type) {
	case *networkingv1.VirtualService:
		return object{config.VirtualService, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *networkingv1.DestinationRule:
		return object{config.DestinationRule, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *networkingv1.Gateway:
		return object{config.Gateway, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *networkingv1.ServiceEntry:
		return object{config.ServiceEntry, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *networkingv1.WorkloadEntry:
		return object{config.WorkloadEntry, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *networkingv1.WorkloadGroup:
		return object{config.WorkloadGroup, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *networkingv1.Sidecar:
		return object{config.Sidecar, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *securityv1.PeerAuthentication:
		return object{config.PeerAuthentication, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *securityv1.AuthorizationPolicy:
		return object{config.AuthorizationPolicy, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *securityv1.RequestAuthentication:
		return object{config.RequestAuthentication, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	case *telemetryv1.Telemetry:
		return object{config.Telemetry, &o.ObjectMeta, &o.Spec, &o.Status}, nil
	}
	return object{}, fmt.Errorf("unexpected object %T", obj)
}

// toConfig converts an object to the store's form.
func (o object) toConfig() config.Config {
	return config.Config{Kind: o.kind, Name: o.meta.Name, Namespace: o.meta.Namespace, Labels: o.meta.Labels,
		Annotations: o.meta.Annotations, ResourceVersion: o.meta.ResourceVersion,
		CreationTime: o.meta.CreationTimestamp.UTC(), Spec: o.spec, Source: "kube"}
}

// key returns "Kind/namespace/name", as config.Config.Key.
func (o object) key() string { return string(o.kind) + "/" + o.meta.Namespace + "/" + o.meta.Name }
