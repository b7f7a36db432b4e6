package config

import (
	"context"
	"time"

	"google.golang.org/protobuf/proto"
)

// Kind is an Istio config kind.
type Kind string

// The kinds the control plane reads.
const (
	VirtualService        Kind = "VirtualService"
	DestinationRule       Kind = "DestinationRule"
	Gateway               Kind = "Gateway"
	ServiceEntry          Kind = "ServiceEntry"
	WorkloadEntry         Kind = "WorkloadEntry"
	WorkloadGroup         Kind = "WorkloadGroup"
	Sidecar               Kind = "Sidecar"
	PeerAuthentication    Kind = "PeerAuthentication"
	AuthorizationPolicy   Kind = "AuthorizationPolicy"
	RequestAuthentication Kind = "RequestAuthentication"
	Telemetry             Kind = "Telemetry"
)

// Config is one Istio config object.
type Config struct {
	Kind        Kind
	Name        string
	Namespace   string
	Labels      map[string]string
	Annotations map[string]string
	// ResourceVersion changes whenever the object does.
	ResourceVersion string
	CreationTime    time.Time
	// Spec is the object's spec, an istio.io/api message (*networkingv1alpha3.VirtualService, ...).
	Spec proto.Message
	// Source says where the object came from: "dir/file.yaml#2" or "kube".
	Source string
}

// Key returns "Kind/namespace/name".
func (c *Config) Key() string { return string(c.Kind) + "/" + c.Namespace + "/" + c.Name }

// EventType says what happened to a config object.
type EventType int

// Event types.
const (
	Added EventType = iota
	Updated
	Deleted
)

// Event is a change to one config object.
type Event struct {
	Type   EventType
	Config Config
}

// Store holds the current config. Implementations must be safe for concurrent use.
type Store interface {
	// List returns the objects of a kind, sorted by namespace then name. Callers must not
	// change the returned objects.
	List(kind Kind) []Config
	// Subscribe adds a handler called after every change; handlers must not block.
	Subscribe(handler func(Event))
	// Run loads and watches the config until ctx ends. HasSynced reports when the first
	// load is done.
	Run(ctx context.Context) error
	HasSynced() bool
}
