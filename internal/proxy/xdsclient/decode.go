package xdsclient

import (
	"errors"
	"fmt"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/proxy/config"
)

// newMessage returns an empty message of a resource type.
func newMessage(url string) (proto.Message, error) {
	switch url {
	case ClusterType:
		return &clusterv3.Cluster{}, nil
	case EndpointType:
		return &endpointv3.ClusterLoadAssignment{}, nil
	case ListenerType:
		return &listenerv3.Listener{}, nil
	case RouteType:
		return &routev3.RouteConfiguration{}, nil
	case SecretType:
		return &tlsv3.Secret{}, nil
	}
	return nil, fmt.Errorf("%w: %s", errUnknownType, url)
}

// decoded is one checked resource.
type decoded struct {
	name string
	msg  proto.Message
}

// decode unpacks a response's resources and checks each against Envoy's schema and
// weft's coverage. Every bad resource is named in the error, which becomes the NACK.
func decode(url string, anys []*anypb.Any) ([]decoded, error) {
	out := make([]decoded, 0, len(anys))
	var errs []error
	seen := map[string]bool{}
	for i, a := range anys {
		if a.GetTypeUrl() != url {
			errs = append(errs, fmt.Errorf("resource %d: type %s in a %s response", i, a.GetTypeUrl(), shortName(url)))
			continue
		}
		m, err := newMessage(url)
		if err != nil {
			return nil, err
		}
		if err := a.UnmarshalTo(m); err != nil {
			errs = append(errs, fmt.Errorf("resource %d: %w", i, err))
			continue
		}
		name := resourceName(m)
		if err := check(m); err != nil {
			errs = append(errs, fmt.Errorf("%s %q: %w", shortName(url), name, err))
			continue
		}
		if seen[name] {
			errs = append(errs, fmt.Errorf("%s %q: duplicate resource name", shortName(url), name))
			continue
		}
		seen[name] = true
		out = append(out, decoded{name: name, msg: m})
	}
	return out, errors.Join(errs...)
}

func check(m proto.Message) error {
	if err := config.Validate(m); err != nil {
		return err
	}
	return config.Check(m)
}

// resourceName returns the name a resource is known by.
func resourceName(m proto.Message) string {
	switch r := m.(type) {
	case *clusterv3.Cluster:
		return r.GetName()
	case *endpointv3.ClusterLoadAssignment:
		return r.GetClusterName()
	case *listenerv3.Listener:
		return r.GetName()
	case *routev3.RouteConfiguration:
		return r.GetName()
	case *tlsv3.Secret:
		return r.GetName()
	}
	return ""
}
