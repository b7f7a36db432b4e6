package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// The mesh of the controlplane scenario, as Istio YAML in weft control's config
// directory: the services of xds-memory (ServiceEntries, two endpoints each, over ten
// namespaces); a VirtualService on svc-0 whose timeout the scenario changes; a service
// "churn" in ns-0 whose endpoints are WorkloadEntries, one file each, that the
// scenario adds and removes; and, when scoped, a Sidecar in every namespace that
// admits only the namespace's own services.

const (
	cpEndpoints = 2       // endpoints per service
	cpChurnPool = 100     // WorkloadEntries of the churn service at the start
	cpChurnNS   = "ns-0"  // the churn service's namespace
	cpChurnApp  = "churn" // its workload selector
)

// cpChurnHost is the churn service's hostname.
var cpChurnHost = "churn." + cpChurnNS + ".svc.cluster.local"

// cpChurnCluster is the EDS cluster a sidecar holds for the churn service.
var cpChurnCluster = fmt.Sprintf("outbound|%d||%s", meshPort, cpChurnHost)

// writeCPMesh writes the config directory: services, the VirtualService, the churn
// service with its first cpChurnPool WorkloadEntries, and the Sidecars when scoped.
func writeCPMesh(dir string, services int, scoped bool) error {
	files := map[string]*strings.Builder{}
	for j := range services {
		ns := meshNamespace(j)
		if files[ns] == nil {
			files[ns] = &strings.Builder{}
		}
		files[ns].WriteString(serviceEntry(j, cpEndpoints))
	}
	write := func(name, text string) error {
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), []byte(text), 0o644); err != nil {
			return fmt.Errorf("mesh config: %w", err)
		}
		return nil
	}
	for name, b := range files {
		if err := write(name, b.String()); err != nil {
			return err
		}
	}
	if err := write("vs", cpVirtualService(1)); err != nil {
		return err
	}
	if err := write("churn", cpChurnService()); err != nil {
		return err
	}
	for k := range cpChurnPool {
		if err := write(cpWorkloadName(k), cpWorkloadEntry(k)); err != nil {
			return err
		}
	}
	if !scoped {
		return nil
	}
	for k := range min(meshNamespaces, services) {
		ns := meshNamespace(k)
		if err := write("sidecar-"+ns, fmt.Sprintf("apiVersion: networking.istio.io/v1\nkind: Sidecar\n"+
			"metadata: {name: default, namespace: %s}\nspec: {egress: [{hosts: [./*]}]}\n", ns)); err != nil {
			return err
		}
	}
	return nil
}

// cpVirtualService routes svc-0 with a timeout of seconds: every sidecar that sees
// svc-0 holds it in its route table, so changing it is a route push to each of them.
func cpVirtualService(seconds int) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-0, namespace: %s}
spec:
  hosts: [%s]
  http:
  - route: [{destination: {host: %s}}]
    timeout: %ds
`, meshNamespace(0), meshHost(0), meshHost(0), seconds)
}

func cpChurnService() string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: churn, namespace: %s}
spec:
  hosts: [%s]
  location: MESH_INTERNAL
  ports: [{number: %d, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: %s}}
`, cpChurnNS, cpChurnHost, meshPort, cpChurnApp)
}

// cpWorkloadName is the file and object name of WorkloadEntry k.
func cpWorkloadName(k int) string { return fmt.Sprintf("we-%d", k) }

// cpWorkloadIP is WorkloadEntry k's address, never reused: 10.200.0.1, 10.200.0.2, ...
func cpWorkloadIP(k int) string {
	return fmt.Sprintf("10.%d.%d.%d", 200+k/62500, (k/250)%250, k%250+1)
}

func cpWorkloadEntry(k int) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: %s, namespace: %s}
spec:
  address: %s
  labels: {app: %s}
`, cpWorkloadName(k), cpChurnNS, cpWorkloadIP(k), cpChurnApp)
}

// writeAtomic replaces dir/name.yaml by a rename, so that the watcher never reads
// half a file.
func writeAtomic(dir, name, text string) error {
	tmp := filepath.Join(dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(text), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name+".yaml"))
}
