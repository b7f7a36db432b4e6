package ads

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// fakeService is a service of the fake mesh: one port, endpoints by IP.
type fakeService struct {
	namespace string
	port      uint32
	ips       []string
	tag       string // shows in every resource generated for the service
	edit      string // shows in its cluster only
}

// fakeMesh is the mutable state the tests change; snapshot freezes it.
type fakeMesh struct {
	mu       sync.Mutex
	services map[string]fakeService // by hostname
	vs       int                    // how many VirtualServices the snapshot lists
}

func newFakeMesh() *fakeMesh {
	return &fakeMesh{services: map[string]fakeService{
		"a.ns1.svc.cluster.local": {namespace: "ns1", port: 80, ips: []string{"10.0.0.1"}},
		"b.ns1.svc.cluster.local": {namespace: "ns1", port: 80, ips: []string{"10.0.0.2"}},
		"c.ns2.svc.cluster.local": {namespace: "ns2", port: 9080, ips: []string{"10.0.1.1", "10.0.1.2"}},
	}}
}

func (f *fakeMesh) update(fn func(m map[string]fakeService)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f.services)
}

func (f *fakeMesh) setVirtualServices(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vs = n
}

func (f *fakeMesh) snapshot(version string) *mesh.Snapshot {
	f.mu.Lock()
	defer f.mu.Unlock()
	snap := &mesh.Snapshot{Version: version, Services: map[string]*mesh.Service{},
		Endpoints: map[string]map[uint32][]*mesh.Endpoint{}, Config: map[config.Kind][]config.Config{}, Mesh: mesh.DefaultMeshConfig()}
	for _, host := range slices.Sorted(maps.Keys(f.services)) {
		fs := f.services[host]
		svc := &mesh.Service{Hostname: host, Namespace: fs.namespace, Labels: map[string]string{"tag": fs.tag, "edit": fs.edit},
			Ports: []mesh.Port{{Name: "http", Number: fs.port, Protocol: mesh.HTTP}}}
		snap.Services[host] = svc
		snap.ServiceList = append(snap.ServiceList, svc)
		for _, ip := range fs.ips {
			ep := &mesh.Endpoint{Address: ip, Port: fs.port, ServicePort: fs.port, Healthy: true}
			if snap.Endpoints[host] == nil {
				snap.Endpoints[host] = map[uint32][]*mesh.Endpoint{}
			}
			snap.Endpoints[host][fs.port] = append(snap.Endpoints[host][fs.port], ep)
		}
	}
	for i := range f.vs {
		snap.Config[config.VirtualService] = append(snap.Config[config.VirtualService],
			config.Config{Kind: config.VirtualService, Name: "vs" + strconv.Itoa(i), Namespace: "ns1"})
	}
	return snap
}

// fakeGen is a pure generator shaped like Istio's: a node sees the services of its own
// namespace; one cluster and one ClusterLoadAssignment per service, one listener and
// one route configuration per port. It counts its calls by type.
type fakeGen struct {
	calls    sync.Map // type URL -> *atomic.Int64
	fail     atomic.Bool
	edsNames atomic.Pointer[[]string] // the names of the last EDS generation
}

func (g *fakeGen) count(typeURL string) int64 {
	v, _ := g.calls.LoadOrStore(typeURL, new(atomic.Int64))
	return v.(*atomic.Int64).Load()
}

func (g *fakeGen) Generate(node *mesh.Node, snap *mesh.Snapshot, typeURL string, names []string) ([]Resource, error) {
	v, _ := g.calls.LoadOrStore(typeURL, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	if typeURL == EndpointType {
		g.edsNames.Store(&names)
	}
	if g.fail.Load() {
		return nil, fmt.Errorf("generator failure")
	}
	var out []Resource
	ports := map[uint32][]*mesh.Service{}
	for _, svc := range snap.ServiceList {
		if svc.Namespace != node.Namespace {
			continue
		}
		port := svc.Ports[0].Number
		name := clusterName(svc.Hostname, port)
		ports[port] = append(ports[port], svc)
		switch typeURL {
		case ClusterType:
			out = append(out, Resource{name, &clusterv3.Cluster{Name: name, AltStatName: svc.Labels["tag"] + svc.Labels["edit"],
				ClusterDiscoveryType: &clusterv3.Cluster_Type{Type: clusterv3.Cluster_EDS}}})
		case EndpointType:
			cla := loadAssignment(name, snap.EndpointsOf(svc.Hostname, port))
			cla.Endpoints[0].Locality = &corev3.Locality{Zone: svc.Labels["tag"]}
			out = append(out, Resource{name, cla})
		}
	}
	for _, port := range slices.Sorted(maps.Keys(ports)) {
		switch typeURL {
		case ListenerType:
			name := "0.0.0.0_" + strconv.Itoa(int(port))
			out = append(out, Resource{name, &listenerv3.Listener{Name: name, StatPrefix: tags(ports[port]), Address: &corev3.Address{
				Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{Address: "0.0.0.0",
					PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: port}}}}}})
		case RouteType:
			rc := &routev3.RouteConfiguration{Name: strconv.Itoa(int(port)), InternalOnlyHeaders: []string{tags(ports[port])}}
			for _, svc := range ports[port] {
				rc.VirtualHosts = append(rc.VirtualHosts, &routev3.VirtualHost{Name: svc.Hostname, Domains: []string{svc.Hostname}})
			}
			out = append(out, Resource{rc.Name, rc})
		}
	}
	return out, nil
}

func tags(svcs []*mesh.Service) string {
	var s string
	for _, svc := range svcs {
		s += svc.Labels["tag"] + ","
	}
	return s
}

func clusterName(host string, port uint32) string {
	return "outbound|" + strconv.Itoa(int(port)) + "||" + host
}

func loadAssignment(name string, eps []*mesh.Endpoint) *endpointv3.ClusterLoadAssignment {
	cla := &endpointv3.ClusterLoadAssignment{ClusterName: name}
	lle := &endpointv3.LocalityLbEndpoints{}
	for _, e := range eps {
		lle.LbEndpoints = append(lle.LbEndpoints, &endpointv3.LbEndpoint{HostIdentifier: &endpointv3.LbEndpoint_Endpoint{
			Endpoint: &endpointv3.Endpoint{Address: &corev3.Address{Address: &corev3.Address_SocketAddress{
				SocketAddress: &corev3.SocketAddress{Address: e.Address, PortSpecifier: &corev3.SocketAddress_PortValue{PortValue: e.Port}}}}}}})
	}
	cla.Endpoints = []*endpointv3.LocalityLbEndpoints{lle}
	return cla
}
