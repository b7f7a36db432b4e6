package config

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
	telemetry "istio.io/api/telemetry/v1alpha1"
)

// Schema says how a kind is written in Kubernetes-style YAML and which istio.io/api
// message holds its spec.
type Schema struct {
	Kind Kind
	// Group is the API group: "networking.istio.io".
	Group string
	// Versions lists the API versions weft accepts, newest first. They all share one
	// spec message (istio.io/api's v1 and v1beta1 types are aliases of v1alpha3's).
	Versions []string
	// New returns an empty spec message.
	New func() proto.Message
}

var (
	networkingVersions = []string{"v1", "v1beta1", "v1alpha3"}
	securityVersions   = []string{"v1", "v1beta1"}
	telemetryVersions  = []string{"v1", "v1alpha1"}
)

// schemas lists every kind the control plane reads, in a fixed order.
var schemas = []Schema{
	{VirtualService, "networking.istio.io", networkingVersions, func() proto.Message { return &networking.VirtualService{} }},
	{DestinationRule, "networking.istio.io", networkingVersions, func() proto.Message { return &networking.DestinationRule{} }},
	{Gateway, "networking.istio.io", networkingVersions, func() proto.Message { return &networking.Gateway{} }},
	{ServiceEntry, "networking.istio.io", networkingVersions, func() proto.Message { return &networking.ServiceEntry{} }},
	{WorkloadEntry, "networking.istio.io", networkingVersions, func() proto.Message { return &networking.WorkloadEntry{} }},
	{WorkloadGroup, "networking.istio.io", networkingVersions, func() proto.Message { return &networking.WorkloadGroup{} }},
	{Sidecar, "networking.istio.io", networkingVersions, func() proto.Message { return &networking.Sidecar{} }},
	{PeerAuthentication, "security.istio.io", securityVersions, func() proto.Message { return &security.PeerAuthentication{} }},
	{AuthorizationPolicy, "security.istio.io", securityVersions, func() proto.Message { return &security.AuthorizationPolicy{} }},
	{RequestAuthentication, "security.istio.io", securityVersions, func() proto.Message { return &security.RequestAuthentication{} }},
	{Telemetry, "telemetry.istio.io", telemetryVersions, func() proto.Message { return &telemetry.Telemetry{} }},
}

// Schemas returns the schema of every kind the control plane reads, in a fixed order.
func Schemas() []Schema { return slices.Clone(schemas) }

// Kinds returns every kind the control plane reads, in the order of Schemas.
func Kinds() []Kind {
	out := make([]Kind, len(schemas))
	for i, s := range schemas {
		out[i] = s.Kind
	}
	return out
}

// SchemaOf returns the schema of a kind.
func SchemaOf(kind Kind) (Schema, bool) {
	for _, s := range schemas {
		if s.Kind == kind {
			return s, true
		}
	}
	return Schema{}, false
}

// LookupSchema finds the schema for an object's apiVersion ("networking.istio.io/v1")
// and kind. It reports found=false for kinds of other API groups (a Deployment, or the
// Kubernetes Gateway API's Gateway), and a non-empty unsupported reason when the group
// is Istio's but the version or kind is not one weft reads.
func LookupSchema(apiVersion, kind string) (s Schema, found bool, unsupported string) {
	group, version, ok := strings.Cut(apiVersion, "/")
	if !ok {
		return Schema{}, false, ""
	}
	istioGroup := false
	for _, s := range schemas {
		if s.Group != group {
			continue
		}
		istioGroup = true
		if string(s.Kind) != kind {
			continue
		}
		if !slices.Contains(s.Versions, version) {
			return Schema{}, false, "unsupported version " + version + " of " + group + "/" + kind +
				" (want one of " + strings.Join(s.Versions, ", ") + ")"
		}
		return s, true, ""
	}
	if istioGroup {
		return Schema{}, false, "kind " + kind + " of " + group + " is not supported"
	}
	return Schema{}, false, ""
}
