package xdsgen

import (
	"errors"
	"fmt"
	"sort"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// The xDS type URLs Generate answers.
const (
	ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	ClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
)

// Resource is one generated xDS resource: a *listenerv3.Listener,
// *routev3.RouteConfiguration, *clusterv3.Cluster or *endpointv3.ClusterLoadAssignment.
type Resource struct {
	Name    string
	Message proto.Message
}

// DefaultSystemCA is where TLS origination without caCertificates finds the trusted
// roots, as Istio's "system" CA: the Debian bundle in the proxy image.
const DefaultSystemCA = "/etc/ssl/certs/ca-certificates.crt"

// Options tune generation. The zero value generates what Istio generates.
type Options struct {
	// InlineRoutes puts each HTTP listener's route configuration inside its connection
	// manager (route_config) instead of naming it for RDS, for clients without RDS (or
	// a static bootstrap); RouteType requests still return the same configurations.
	InlineRoutes bool
	// SystemCA is the CA bundle for TLS origination without caCertificates;
	// DefaultSystemCA when empty.
	SystemCA string
	// SkipValidation returns resources without validating them. Validation is most of
	// the cost of a generation: the control plane skips it here and has the ADS server
	// run ValidateResource once per distinct resource instead.
	SkipValidation bool
}

// Generate returns the resources of typeURL for node, with the default Options.
func Generate(node *mesh.Node, snap *mesh.Snapshot, typeURL string) ([]Resource, error) {
	return Options{}.Generate(node, snap, typeURL)
}

// Generate returns the resources of typeURL that node should have in snap, sorted by
// name and validated; a type it does not generate yields nothing. names are the resource names the node subscribed to; they matter
// only for proxyless gRPC listeners, whose names are the targets the client dials
// ("reviews:9080"). An error names the Istio object and field that cannot be
// translated, or the resource that failed validation.
func (o Options) Generate(node *mesh.Node, snap *mesh.Snapshot, typeURL string, names ...string) ([]Resource, error) {
	if node == nil || snap == nil {
		return nil, errors.New("xdsgen: node and snapshot are required")
	}
	return newGen(o, node, snap).generate(typeURL, names)
}

// Session returns a generator of several types for one node and snapshot, which share
// the work they have in common: a sidecar's listeners need its route tables (for the
// fault filter, or inline), so a push of LDS and RDS builds each table once. It is
// not safe for concurrent use.
func (o Options) Session(node *mesh.Node, snap *mesh.Snapshot) func(typeURL string, names []string) ([]Resource, error) {
	if node == nil || snap == nil {
		return func(string, []string) ([]Resource, error) {
			return nil, errors.New("xdsgen: node and snapshot are required")
		}
	}
	g := newGen(o, node, snap)
	return g.generate
}

// generate is Generate for the generation's node and snapshot.
func (g *gen) generate(typeURL string, names []string) ([]Resource, error) {
	node, o := g.node, g.opts
	var out []Resource
	var err error
	switch typeURL {
	case ListenerType:
		out, err = g.listeners(names)
	case RouteType:
		out, err = g.routes()
	case ClusterType:
		out, err = g.clusters()
	case EndpointType:
		out, err = g.endpoints(names)
	default:
		return nil, nil // secrets and other types: not generated here
	}
	if err != nil {
		return nil, fmt.Errorf("node %s: %w", node.ID, err)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	for i := 1; i < len(out); i++ {
		if out[i].Name == out[i-1].Name {
			return nil, fmt.Errorf("node %s: two resources named %q", node.ID, out[i].Name)
		}
	}
	for _, r := range out {
		if o.SkipValidation {
			break
		}
		if err := ValidateResource(node, typeURL, r.Name, r.Message); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ValidateResource checks a generated resource as Generate does (the Envoy schema's
// rules, and for proxies the fields weft proxy implements); the error names the node,
// the resource and the field. The control plane generates with SkipValidation and
// validates through the ADS server, which checks each distinct content once.
func ValidateResource(node *mesh.Node, typeURL, name string, m proto.Message) error {
	if err := validate(m, node.Proxyless); err != nil {
		return fmt.Errorf("node %s: %s %q: %w", node.ID, kindOf(typeURL), name, err)
	}
	return nil
}

// gen is one generation: the node, the snapshot and what the node can see.
type gen struct {
	opts Options
	node *mesh.Node
	snap *mesh.Snapshot
	sc   *scope
	// Lookups built once per generation.
	drIdx   *drIndex
	vsIdx   map[string]*vsIndex
	checked map[string]error
	// routeTables are the sidecar's outbound route tables by port, built once per
	// generation (or session: LDS and RDS share them).
	routeTables map[uint32]routeTable
}

type routeTable struct {
	rc  *routev3.RouteConfiguration
	err error
}

func newGen(o Options, node *mesh.Node, snap *mesh.Snapshot) *gen {
	g := &gen{opts: o, node: node, snap: snap, vsIdx: map[string]*vsIndex{}, checked: map[string]error{},
		routeTables: map[uint32]routeTable{}}
	g.sc = newScope(g)
	return g
}

func (g *gen) listeners(names []string) ([]Resource, error) {
	switch {
	case g.node.Proxyless:
		return g.grpcListeners(names)
	case g.node.Type == mesh.Router:
		return g.gatewayListeners()
	}
	return g.sidecarListeners()
}

func (g *gen) routes() ([]Resource, error) {
	switch {
	case g.node.Proxyless:
		return g.grpcRoutes()
	case g.node.Type == mesh.Router:
		return g.gatewayRoutes()
	}
	return g.sidecarRoutes()
}

func kindOf(typeURL string) string {
	switch typeURL {
	case ListenerType:
		return "listener"
	case RouteType:
		return "route configuration"
	case ClusterType:
		return "cluster"
	}
	return "cluster load assignment"
}
