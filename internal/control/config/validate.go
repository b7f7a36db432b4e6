package config

import (
	"regexp"
	"sort"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
	telemetry "istio.io/api/telemetry/v1alpha1"
	typev1beta1 "istio.io/api/type/v1beta1"
)

// Validate checks a config object the way istiod's validation webhook does for the
// networking kinds, and checks names and selectors for the others. It returns nil or a
// *ValidationError listing every problem with its field path; File and Document are
// left for the caller (the store that read the object) to fill in.
func Validate(c *Config) error {
	var fe fieldErrors
	validateMeta(&fe, c)
	switch spec := c.Spec.(type) {
	case nil:
		fe.add("spec", "is required")
	case *networking.VirtualService:
		validateVirtualService(&fe, c.Namespace, spec)
	case *networking.DestinationRule:
		validateDestinationRule(&fe, c.Namespace, spec)
	case *networking.Gateway:
		validateGateway(&fe, spec)
	case *networking.ServiceEntry:
		validateServiceEntry(&fe, c.Namespace, spec)
	case *networking.WorkloadEntry:
		validateWorkloadEntry(&fe, "spec", spec, nil, true)
	case *networking.WorkloadGroup:
		validateWorkloadGroup(&fe, spec)
	case *networking.Sidecar:
		validateSidecar(&fe, spec)
	case *security.PeerAuthentication:
		validatePolicySelector(&fe, "spec.selector", spec.GetSelector())
	case *security.AuthorizationPolicy:
		validatePolicySelector(&fe, "spec.selector", spec.GetSelector())
	case *security.RequestAuthentication:
		validatePolicySelector(&fe, "spec.selector", spec.GetSelector())
	case *telemetry.Telemetry:
		validatePolicySelector(&fe, "spec.selector", spec.GetSelector())
	default:
		fe.add("spec", "unexpected spec type %T", spec)
	}
	if len(fe) == 0 {
		return nil
	}
	return &ValidationError{Kind: c.Kind, Namespace: c.Namespace, Name: c.Name, Fields: fe}
}

// validateMeta checks the object's name and namespace, and that the spec is the kind's.
func validateMeta(fe *fieldErrors, c *Config) {
	switch {
	case c.Name == "":
		fe.add("metadata.name", "is required")
	case c.Kind == Gateway && !isDNSLabel(c.Name):
		fe.add("metadata.name", "gateway name %q must be a DNS label (no dots)", c.Name)
	case !isObjectName(c.Name):
		fe.add("metadata.name", "%q is not a lower case DNS subdomain name", c.Name)
	}
	if c.Namespace != "" && (!isDNSLabel(c.Namespace) || strings.ToLower(c.Namespace) != c.Namespace) {
		fe.add("metadata.namespace", "%q is not a lower case DNS label", c.Namespace)
	}
	if s, ok := SchemaOf(c.Kind); ok && c.Spec != nil {
		if want := s.New(); want.ProtoReflect().Descriptor() != c.Spec.ProtoReflect().Descriptor() {
			fe.add("spec", "kind %s wants a %T spec, got %T", c.Kind, want, c.Spec)
		}
	}
	validateLabelMap(fe, "metadata.labels", c.Labels)
}

// validateLabelMap checks label keys and values, in key order.
func validateLabelMap(fe *fieldErrors, path string, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		fe.check(key(path, k), checkLabelKey(k))
		fe.check(key(path, k), checkLabelValue(labels[k]))
	}
}

// validateSelectorLabels checks a workload selector's labels: valid, and no wildcards.
func validateSelectorLabels(fe *fieldErrors, path string, labels map[string]string) {
	for _, k := range sortedKeys(labels) {
		v := labels[k]
		if strings.Contains(k, "*") || strings.Contains(v, "*") {
			fe.add(key(path, k), "wildcards are not supported in selectors")
			continue
		}
		fe.check(key(path, k), checkLabelKey(k))
		fe.check(key(path, k), checkLabelValue(v))
	}
}

// validatePolicySelector checks the selector of security and telemetry policies.
func validatePolicySelector(fe *fieldErrors, path string, sel *typev1beta1.WorkloadSelector) {
	validateSelectorLabels(fe, field(path, "matchLabels"), sel.GetMatchLabels())
}

// validateExportTo checks an exportTo list: ".", "*", namespaces, and "~" (no one) for
// ServiceEntries; no duplicates; "*" and "~" alone.
func validateExportTo(fe *fieldErrors, path, namespace string, exportTo []string, allowNone bool) {
	seen := map[string]bool{}
	for i, e := range exportTo {
		p := index(path, i)
		k := e
		if e == "." {
			k = namespace
		}
		switch {
		case seen[k]:
			fe.add(p, "duplicate entry %q", e)
		case e == "~" && !allowNone:
			fe.add(p, `"~" (export to no one) is only allowed for service entries`)
		case e != "." && e != "*" && e != "~" && !isDNSLabel(e):
			fe.add(p, "%q is not a namespace, \".\" or \"*\"", e)
		}
		seen[k] = true
	}
	if len(exportTo) > 1 && (seen["*"] || seen["~"]) {
		fe.add(path, `"*" and "~" cannot be combined with other entries`)
	}
}

// validateStringMatch checks a StringMatch: exactly one of exact, prefix or regex, and
// a regex that compiles as RE2 (Envoy's dialect, which Go's regexp implements).
func validateStringMatch(fe *fieldErrors, path string, m *networking.StringMatch) {
	if m == nil {
		fe.add(path, "must not be null")
		return
	}
	switch t := m.GetMatchType().(type) {
	case nil:
		fe.add(path, "exactly one of exact, prefix or regex is required")
	case *networking.StringMatch_Regex:
		validateRegex(fe, field(path, "regex"), t.Regex)
	}
}

// validateRegex checks a regular expression as Envoy's RE2 engine would take it.
func validateRegex(fe *fieldErrors, path, re string) {
	switch {
	case re == "":
		fe.add(path, "must not be empty")
	case len(re) > 1024:
		fe.add(path, "regex is longer than 1024 characters")
	default:
		if _, err := regexp.Compile(re); err != nil {
			fe.add(path, "invalid RE2 regex: %v", err)
		}
	}
}

// sortedKeys returns a map's keys in order, so that errors come out deterministically.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// isObjectName reports whether s is a Kubernetes object name: a lower case DNS
// subdomain of at most 253 characters.
func isObjectName(s string) bool {
	if len(s) > 253 || strings.ToLower(s) != s {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if !isDNSLabel(l) {
			return false
		}
	}
	return true
}
