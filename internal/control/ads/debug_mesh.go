package ads

import (
	"encoding/json"
	"net/http"
	"slices"
	"time"

	"google.golang.org/protobuf/encoding/protojson"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// configObject is a config object in /debug/configz, shaped like a Kubernetes object.
type configObject struct {
	Kind       string          `json:"kind"`
	APIVersion string          `json:"apiVersion"`
	Metadata   objectMeta      `json:"metadata"`
	Spec       json.RawMessage `json:"spec"`
	Source     string          `json:"source,omitempty"`
}

type objectMeta struct {
	Name              string            `json:"name"`
	Namespace         string            `json:"namespace,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	CreationTimestamp time.Time         `json:"creationTimestamp,omitzero"`
}

// apiVersion returns the Istio API group and version of a kind.
func apiVersion(k config.Kind) string {
	switch k {
	case config.PeerAuthentication, config.AuthorizationPolicy, config.RequestAuthentication:
		return "security.istio.io/v1"
	case config.Telemetry:
		return "telemetry.istio.io/v1"
	}
	return "networking.istio.io/v1"
}

func (s *Server) configz(w http.ResponseWriter, _ *http.Request) {
	out := []configObject{}
	snap := s.current.Load()
	if snap == nil {
		writeJSON(w, out)
		return
	}
	kinds := make([]config.Kind, 0, len(snap.Config))
	for k := range snap.Config {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		for _, c := range snap.Config[k] {
			out = append(out, newConfigObject(c))
		}
	}
	writeJSON(w, out)
}

func newConfigObject(c config.Config) configObject {
	spec := json.RawMessage("null")
	if c.Spec != nil {
		if b, err := protojson.Marshal(c.Spec); err == nil {
			spec = b
		}
	}
	return configObject{Kind: string(c.Kind), APIVersion: apiVersion(c.Kind), Spec: spec, Source: c.Source,
		Metadata: objectMeta{Name: c.Name, Namespace: c.Namespace, Labels: c.Labels, Annotations: c.Annotations,
			ResourceVersion: c.ResourceVersion, CreationTimestamp: c.CreationTime}}
}

// serviceView is a service in /debug/registryz, with its endpoints.
type serviceView struct {
	Hostname     string            `json:"hostname"`
	Namespace    string            `json:"namespace,omitempty"`
	Addresses    []string          `json:"addresses,omitempty"`
	Ports        []portView        `json:"ports"`
	Resolution   string            `json:"resolution"`
	MeshExternal bool              `json:"meshExternal,omitempty"`
	ExportTo     []string          `json:"exportTo,omitempty"`
	Labels       map[string]string `json:"labels,omitempty"`
	Selector     map[string]string `json:"selector,omitempty"`
	Source       string            `json:"source,omitempty"`
	Endpoints    []endpointView    `json:"endpoints,omitempty"`
}

type portView struct {
	Name       string `json:"name,omitempty"`
	Port       uint32 `json:"port"`
	Protocol   string `json:"protocol"`
	TargetPort uint32 `json:"targetPort,omitempty"`
}

type endpointView struct {
	Address        string            `json:"address"`
	Port           uint32            `json:"port"`
	ServicePort    uint32            `json:"servicePort"`
	Labels         map[string]string `json:"labels,omitempty"`
	ServiceAccount string            `json:"serviceAccount,omitempty"`
	Locality       string            `json:"locality,omitempty"`
	Network        string            `json:"network,omitempty"`
	Weight         uint32            `json:"weight,omitempty"`
	Healthy        bool              `json:"healthy"`
	Namespace      string            `json:"namespace,omitempty"`
	Workload       string            `json:"workload,omitempty"`
}

var resolutions = map[mesh.Resolution]string{mesh.ClientSideLB: "ClientSideLB", mesh.DNSLB: "DNSLB",
	mesh.DNSRoundRobinLB: "DNSRoundRobinLB", mesh.Passthrough: "Passthrough"}

func (s *Server) registryz(w http.ResponseWriter, _ *http.Request) {
	out := []serviceView{}
	if snap := s.current.Load(); snap != nil {
		for _, svc := range snap.ServiceList {
			out = append(out, newServiceView(snap, svc))
		}
	}
	writeJSON(w, out)
}

func newServiceView(snap *mesh.Snapshot, svc *mesh.Service) serviceView {
	v := serviceView{Hostname: svc.Hostname, Namespace: svc.Namespace, Addresses: svc.Addresses,
		Resolution: resolutions[svc.Resolution], MeshExternal: svc.MeshExternal, ExportTo: svc.ExportTo,
		Labels: svc.Labels, Selector: svc.Selector, Source: svc.Source, Ports: []portView{}}
	for _, p := range svc.Ports {
		v.Ports = append(v.Ports, portView{Name: p.Name, Port: p.Number, Protocol: string(p.Protocol), TargetPort: p.TargetPort})
		for _, e := range snap.EndpointsOf(svc.Hostname, p.Number) {
			v.Endpoints = append(v.Endpoints, endpointView{Address: e.Address, Port: e.Port, ServicePort: e.ServicePort,
				Labels: e.Labels, ServiceAccount: e.ServiceAccount, Locality: locality(e.Locality), Network: e.Network,
				Weight: e.Weight, Healthy: e.Healthy, Namespace: e.Namespace, Workload: e.Workload})
		}
	}
	return v
}

func locality(l mesh.Locality) string {
	if l == (mesh.Locality{}) {
		return ""
	}
	return l.Region + "/" + l.Zone + "/" + l.SubZone
}
