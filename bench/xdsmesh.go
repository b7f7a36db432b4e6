package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The mesh of the xds-memory scenario, as Istio YAML in weft control's config
// directory: N services, each a ServiceEntry (STATIC, MESH_INTERNAL, one HTTP port)
// with E endpoints at addresses of its own, spread round-robin over a few
// namespaces; and a Sidecar that scopes the client labelled app=client-scoped in
// ns-0 to the first ten services.

const (
	meshNamespaces = 10   // services spread round-robin over ns-0 ... ns-9
	meshPort       = 9080 // every service's one HTTP port
	meshScope      = 10   // services the Sidecar admits
	clientNS       = "ns-0"
	appFull        = "client"        // the label of a client that sees every service
	appScoped      = "client-scoped" // the label the Sidecar selects
)

func meshNamespace(j int) string { return fmt.Sprintf("ns-%d", j%meshNamespaces) }

// meshHost is service j's hostname: svc-17.ns-7.svc.cluster.local.
func meshHost(j int) string {
	return fmt.Sprintf("svc-%d.%s.svc.cluster.local", j, meshNamespace(j))
}

// meshEndpointIP numbers endpoints over the whole mesh from 10.10.0.1, 250 to a /24,
// away from the loopback addresses the sidecars use.
func meshEndpointIP(i int) string {
	return fmt.Sprintf("10.%d.%d.%d", 10+i/62500, (i/250)%250, i%250+1)
}

// writeMesh writes the config directory for pt: a file of ServiceEntries per
// namespace and the Sidecar.
func writeMesh(dir string, pt cfgPoint) error {
	files := map[string]*strings.Builder{}
	for j := range pt.Clusters {
		ns := meshNamespace(j)
		b := files[ns]
		if b == nil {
			b = &strings.Builder{}
			files[ns] = b
		}
		b.WriteString(serviceEntry(j, pt.Endpoints))
	}
	files["sidecar"] = &strings.Builder{}
	files["sidecar"].WriteString(scopeSidecar())
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(b.String()), 0o644); err != nil {
			return fmt.Errorf("mesh config: %w", err)
		}
	}
	return nil
}

// serviceEntry is service j with endpoints endpoints.
func serviceEntry(j, endpoints int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: svc-%d, namespace: %s}
spec:
  hosts: [%s]
  location: MESH_INTERNAL
  ports: [{number: %d, name: http, protocol: HTTP}]
  resolution: STATIC
  endpoints:
`, j, meshNamespace(j), meshHost(j), meshPort)
	for k := range endpoints {
		fmt.Fprintf(&b, "  - address: %s\n", meshEndpointIP(j*endpoints+k))
	}
	return b.String()
}

// scopeSidecar admits the first meshScope services (those that exist) to the scoped
// client's egress.
func scopeSidecar() string {
	hosts := make([]string, meshScope)
	for j := range hosts {
		hosts[j] = fmt.Sprintf("%q", meshNamespace(j)+"/"+meshHost(j))
	}
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: scoped, namespace: %s}
spec:
  workloadSelector: {labels: {app: %s}}
  egress:
  - hosts: [%s]
`, clientNS, appScoped, strings.Join(hosts, ", "))
}

// sidecarWants is how many outbound clusters and endpoints a sidecar holds at pt
// once settled: every service's, or the scoped ones'.
func sidecarWants(pt cfgPoint, scoped bool) (clusters, endpoints int) {
	clusters = pt.Clusters
	if scoped {
		clusters = min(clusters, meshScope)
	}
	return clusters, clusters * pt.Endpoints
}
