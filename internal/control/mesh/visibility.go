package mesh

import (
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
)

// exportTo lists say which namespaces may use a service or a config object: "*" all
// (also what an empty list means), "." the object's own namespace, "~" no one, or
// namespace names. Being in the object's namespace is not enough by itself: an object
// exported to ["other"] is not visible in its own namespace, as in Istio.

// Visible reports whether a service is visible from namespace, by its exportTo.
func Visible(svc *Service, namespace string) bool {
	return ExportedTo(svc.ExportTo, svc.Namespace, namespace)
}

// ConfigVisible reports whether a config object is visible from namespace. Only
// VirtualService, DestinationRule and ServiceEntry have exportTo; other kinds are
// visible everywhere (their scope is decided by namespace and selector instead).
func ConfigVisible(c *config.Config, namespace string) bool {
	var exportTo []string
	switch spec := c.Spec.(type) {
	case *networking.VirtualService:
		exportTo = spec.GetExportTo()
	case *networking.DestinationRule:
		exportTo = spec.GetExportTo()
	case *networking.ServiceEntry:
		exportTo = spec.GetExportTo()
	}
	return ExportedTo(exportTo, c.Namespace, namespace)
}

// ExportedTo applies an exportTo list of an object in own to namespace.
func ExportedTo(exportTo []string, own, namespace string) bool {
	if len(exportTo) == 0 {
		return true
	}
	for _, e := range exportTo {
		switch e {
		case "*":
			return true
		case ".":
			if namespace == own {
				return true
			}
		case "~":
		default:
			if e == namespace {
				return true
			}
		}
	}
	return false
}

// LabelsMatch reports whether every selector label is in labels; an empty selector
// matches everything.
func LabelsMatch(selector, labels map[string]string) bool {
	for k, v := range selector {
		if lv, ok := labels[k]; !ok || lv != v {
			return false
		}
	}
	return true
}
