package mesh

import "strings"

// SpiffeID returns a workload identity as Istio writes it:
// "spiffe://<trust domain>/ns/<namespace>/sa/<service account>". An "@" in the trust
// domain becomes ".", as in Istio.
func SpiffeID(trustDomain, namespace, serviceAccount string) string {
	return "spiffe://" + strings.ReplaceAll(trustDomain, "@", ".") + "/ns/" + namespace + "/sa/" + serviceAccount
}
