package ads

import (
	"cmp"
	"slices"
	"strings"
)

// Type URLs of the resource types the server orders and names in metrics. Other type
// URLs are served too, after these, as long as the Generator knows them.
const (
	ClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	EndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	ListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	RouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
	SecretType   = "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret"
)

const typePrefix = "type.googleapis.com/"

// pushOrder is the order a push sends types in. Envoy warms a cluster until its endpoints
// arrive and a listener until its routes do, so clusters go before endpoints and
// listeners before routes; secrets last.
var pushOrder = []string{ClusterType, EndpointType, ListenerType, RouteType, SecretType}

func typeRank(typeURL string) int {
	if i := slices.Index(pushOrder, typeURL); i >= 0 {
		return i
	}
	return len(pushOrder)
}

// sortTypes sorts type URLs into push order; unknown types follow, alphabetically.
func sortTypes(types []string) {
	slices.SortFunc(types, func(a, b string) int {
		if c := cmp.Compare(typeRank(a), typeRank(b)); c != 0 {
			return c
		}
		return strings.Compare(a, b)
	})
}

// ShortType returns the name istiod's metrics use for a type URL: "cds", "eds", "lds",
// "rds", "sds", or the message name for other types.
func ShortType(typeURL string) string {
	switch typeURL {
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
	if i := strings.LastIndexByte(typeURL, '.'); i >= 0 {
		return strings.ToLower(typeURL[i+1:])
	}
	return typeURL
}

// fullStateType reports whether a state-of-the-world response must carry every
// resource of the type: for LDS and CDS a resource left out is deleted. Other types may
// be sent one changed resource at a time.
func fullStateType(typeURL string) bool {
	return typeURL == ClusterType || typeURL == ListenerType
}
