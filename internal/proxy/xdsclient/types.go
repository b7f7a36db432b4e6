package xdsclient

// Resource type URLs.
const (
	ClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	SecretType   = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
)

// typeOrder is the order of initial subscriptions and of applying: clusters before
// their endpoints, listeners before their routes.
var typeOrder = []string{ClusterType, EndpointType, ListenerType, RouteType, SecretType}

// shortName returns the type's short name for stats and logs.
func shortName(url string) string {
	switch url {
	case ClusterType:
		return "cds"
	case EndpointType:
		return "eds"
	case ListenerType:
		return "lds"
	case RouteType:
		return "rds"
	case SecretType:
		return "sds"
	}
	return url
}

// wildcard reports whether a type is subscribed to as a whole (LDS, CDS) rather than
// by name.
func wildcard(url string) bool { return url == ClusterType || url == ListenerType }
