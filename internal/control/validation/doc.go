// Package validation checks Istio config the way istioctl analyze and istiod's
// validating webhook do, and says what is wrong in Istio's analysis message format:
//
//	Error [IST0106] (VirtualService default/bad vs.yaml:1 #0) Schema validation error: spec.hosts: at least one host is required
//
// Analyze runs on a set of objects (files, a cluster, or both, for weft analyze):
// every object that failed config.Validate is an IST0106 message per field, and the
// valid ones are checked against each other (IST0101: a VirtualService naming a
// Gateway, or a DestinationRule subset, that does not exist). Handler is the
// validating admission webhook (AdmissionReview v1 at /validate): it decodes the
// object with the file store's decoder and config.Validate, and denies it with the
// same messages weft analyze prints for it.
//
// It imports config, config/file, mesh (for host and gateway names) and Kubernetes'
// API types; never a registry, the stores' Kubernetes clients, ads, xdsgen or the
// proxy.
package validation
