package xdsgen

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	networking "istio.io/api/networking/v1alpha3"
	security "istio.io/api/security/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// epoch is when the first test config object was created; later ones are a second apart.
var epoch = time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)

// specFor returns an empty spec message for the kinds the tests load.
func specFor(kind config.Kind) proto.Message {
	switch kind {
	case config.VirtualService:
		return &networking.VirtualService{}
	case config.DestinationRule:
		return &networking.DestinationRule{}
	case config.Gateway:
		return &networking.Gateway{}
	case config.Sidecar:
		return &networking.Sidecar{}
	case config.PeerAuthentication:
		return &security.PeerAuthentication{}
	}
	return nil
}

// parseConfig reads Istio YAML documents (kinds the registry owns, such as
// ServiceEntry, are skipped: the tests build services directly).
func parseConfig(t testing.TB, ns, text string, created *int) []config.Config {
	t.Helper()
	var out []config.Config
	for _, doc := range strings.Split(text, "\n---") {
		if strings.TrimSpace(doc) == "" || strings.TrimSpace(doc) == "---" {
			continue
		}
		raw, err := yaml.YAMLToJSON([]byte(doc))
		if err != nil {
			t.Fatalf("yaml: %v\n%s", err, doc)
		}
		var obj struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			Spec json.RawMessage `json:"spec"`
		}
		if err := json.Unmarshal(raw, &obj); err != nil {
			t.Fatal(err)
		}
		spec := specFor(config.Kind(obj.Kind))
		if spec == nil {
			continue
		}
		if err := protojson.Unmarshal(obj.Spec, spec); err != nil {
			t.Fatalf("%s %s: %v", obj.Kind, obj.Metadata.Name, err)
		}
		if obj.Metadata.Namespace != "" {
			ns = obj.Metadata.Namespace
		}
		*created++
		out = append(out, config.Config{
			Kind: config.Kind(obj.Kind), Name: obj.Metadata.Name, Namespace: ns, Spec: spec,
			CreationTime: epoch.Add(time.Duration(*created) * time.Second), Source: "test",
		})
	}
	return out
}

// world builds snapshots for tests: services and endpoints, then config.
type world struct {
	t       testing.TB
	snap    *mesh.Snapshot
	created int
}

func newWorld(t testing.TB) *world {
	return &world{t: t, snap: &mesh.Snapshot{
		Version: "test", Services: map[string]*mesh.Service{}, Endpoints: map[string]map[uint32][]*mesh.Endpoint{},
		Config: map[config.Kind][]config.Config{}, Mesh: mesh.DefaultMeshConfig(),
	}}
}

// service adds a service; hostname short names get ns.svc.cluster.local.
func (w *world) service(svc *mesh.Service) *mesh.Service {
	if !strings.Contains(svc.Hostname, ".") {
		svc.Hostname += "." + svc.Namespace + ".svc.cluster.local"
	}
	w.snap.Services[svc.Hostname] = svc
	w.snap.ServiceList = append(w.snap.ServiceList, svc)
	return svc
}

// endpoint adds an endpoint serving every port of svc on the same port number (or the
// port's target port).
func (w *world) endpoint(svc *mesh.Service, addr string, labels map[string]string) {
	if w.snap.Endpoints[svc.Hostname] == nil {
		w.snap.Endpoints[svc.Hostname] = map[uint32][]*mesh.Endpoint{}
	}
	for _, p := range svc.Ports {
		ep := &mesh.Endpoint{Address: addr, Port: targetOf(p), ServicePort: p.Number, Labels: labels,
			Healthy: true, Namespace: svc.Namespace, Weight: 1}
		w.snap.Endpoints[svc.Hostname][p.Number] = append(w.snap.Endpoints[svc.Hostname][p.Number], ep)
	}
}

// yaml adds Istio config from YAML text in namespace ns.
func (w *world) yaml(ns, text string) *world {
	for _, c := range parseConfig(w.t, ns, text, &w.created) {
		w.snap.Config[c.Kind] = append(w.snap.Config[c.Kind], c)
	}
	return w
}

// file adds Istio config from a file under testdata/bookinfo.
func (w *world) file(ns, name string) *world {
	b, err := os.ReadFile(filepath.Join("testdata", "bookinfo", name))
	if err != nil {
		w.t.Fatal(err)
	}
	return w.yaml(ns, string(b))
}

// worldFile adds Istio config from a file under testdata/worlds.
func (w *world) worldFile(ns, name string) *world {
	b, err := os.ReadFile(filepath.Join("testdata", "worlds", name))
	if err != nil {
		w.t.Fatal(err)
	}
	return w.yaml(ns, string(b))
}

// bookinfo is Istio's bookinfo sample as a mesh: productpage, details, reviews v1-v3 and
// ratings on port 9080 in namespace default, one workload each.
func bookinfo(t testing.TB) *world {
	w := newWorld(t)
	http := []mesh.Port{{Name: "http", Number: 9080, Protocol: mesh.HTTP}}
	ip := map[string]string{"productpage": "10.96.0.10", "details": "10.96.0.11", "reviews": "10.96.0.12", "ratings": "10.96.0.13"}
	for _, name := range []string{"details", "productpage", "ratings", "reviews"} {
		w.service(&mesh.Service{Hostname: name, Namespace: "default", Addresses: []string{ip[name]}, Ports: http,
			Selector: map[string]string{"app": name}, Labels: map[string]string{"app": name}})
	}
	svc := w.snap.Services
	w.endpoint(svc["productpage.default.svc.cluster.local"], "10.1.0.5", map[string]string{"app": "productpage", "version": "v1"})
	w.endpoint(svc["details.default.svc.cluster.local"], "10.1.0.6", map[string]string{"app": "details", "version": "v1"})
	w.endpoint(svc["reviews.default.svc.cluster.local"], "10.1.0.7", map[string]string{"app": "reviews", "version": "v1"})
	w.endpoint(svc["reviews.default.svc.cluster.local"], "10.1.0.8", map[string]string{"app": "reviews", "version": "v2"})
	w.endpoint(svc["reviews.default.svc.cluster.local"], "10.1.0.9", map[string]string{"app": "reviews", "version": "v3"})
	w.endpoint(svc["ratings.default.svc.cluster.local"], "10.1.0.10", map[string]string{"app": "ratings", "version": "v1"})
	return w
}

// productpage is the sidecar of the productpage-v1 workload.
func productpage() *mesh.Node {
	return &mesh.Node{
		ID: "sidecar~10.1.0.5~productpage-v1-6b746.default~default.svc.cluster.local", Type: mesh.SidecarProxy,
		IPs: []string{"10.1.0.5"}, Name: "productpage-v1-6b746", Namespace: "default", DNSDomain: "default.svc.cluster.local",
		Labels: map[string]string{"app": "productpage", "version": "v1"}, Metadata: map[string]string{},
	}
}

// ingress is the istio-ingressgateway.
func ingress() *mesh.Node {
	return &mesh.Node{
		ID: "router~10.1.0.20~istio-ingressgateway-5d8f.istio-system~istio-system.svc.cluster.local", Type: mesh.Router,
		IPs: []string{"10.1.0.20"}, Name: "istio-ingressgateway-5d8f", Namespace: "istio-system", DNSDomain: "istio-system.svc.cluster.local",
		Labels: map[string]string{"istio": "ingressgateway"}, Metadata: map[string]string{},
	}
}

// grpcClient is a proxyless gRPC client in namespace default.
func grpcClient() *mesh.Node {
	return &mesh.Node{
		ID: "sidecar~10.1.0.30~grpc-client-1.default~default.svc.cluster.local", Type: mesh.SidecarProxy,
		IPs: []string{"10.1.0.30"}, Name: "grpc-client-1", Namespace: "default", DNSDomain: "default.svc.cluster.local",
		Labels: map[string]string{"app": "grpc-client"}, Metadata: map[string]string{"GENERATOR": "grpc"}, Proxyless: true,
	}
}
