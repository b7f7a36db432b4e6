package registry

import (
	"context"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// EventKind says what changed in a registry.
type EventKind int

// Event kinds. An endpoint-only change lets the server push EDS alone.
const (
	ServicesChanged EventKind = iota
	EndpointsChanged
)

// Event is a change in a registry; Hosts lists the hostnames it touched.
type Event struct {
	Kind  EventKind
	Hosts []string
}

// Registry is a source of services and their endpoints. Implementations must be safe
// for concurrent use.
type Registry interface {
	// Name identifies the registry in logs and debug output ("ServiceEntry", "Kubernetes").
	Name() string
	// Services returns every service, sorted by hostname.
	Services() []*mesh.Service
	// Endpoints returns the endpoints of a service's port (the service port number).
	Endpoints(hostname string, port uint32) []*mesh.Endpoint
	// Subscribe adds a handler called after every change; handlers must not block.
	Subscribe(handler func(Event))
	// Run watches the registry's sources until ctx ends.
	Run(ctx context.Context) error
	HasSynced() bool
}
