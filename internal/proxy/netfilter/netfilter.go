package netfilter

import (
	"context"
	"fmt"
	"net"
	"sync"
	"sync/atomic"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/proxy/accesslog"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/stats"
)

// Conn is a downstream connection as network filters see it.
type Conn struct {
	// Conn carries the connection's bytes: TLS-terminated when the filter chain has a
	// transport socket; reads return bytes peeked by listener filters first.
	net.Conn
	// Downstream describes the connection (addresses, SNI, TLS, listener).
	Downstream streaminfo.Downstream
	// ALPN is the negotiated application protocol ("h2", "http/1.1" or "").
	ALPN string
	// Drain is closed when the listener starts draining: filters should finish what
	// is in flight and close (HTTP/1 with "connection: close", HTTP/2 with GOAWAY).
	Drain <-chan struct{}
	// Idle is set by the filter while the connection waits for a new request with
	// nothing in flight; draining closes idle connections at once.
	Idle atomic.Bool
}

// Handler serves a connection. ServeConn returns when the handler is done with the
// connection; the listener closes it afterwards.
type Handler interface {
	ServeConn(ctx context.Context, c *Conn)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, c *Conn)

// ServeConn calls f.
func (f HandlerFunc) ServeConn(ctx context.Context, c *Conn) { f(ctx, c) }

// Deps are what filter factories may use.
type Deps struct {
	Clusters   *upstream.Manager
	Stats      *stats.Store
	AccessLogs *accesslog.Manager
	// ListenerName is the name of the listener whose chain is being built.
	ListenerName string
	// ListenerScope is that listener's stats scope ("listener.<address>.").
	ListenerScope stats.Scope
	// Runtime is the layered runtime (runtime_fraction, runtime keys); may be nil.
	Runtime *runtime.Store
	// Routes are the RDS route configurations; nil without an xDS client.
	Routes *route.Providers
}

// Registration describes one network filter extension.
type Registration struct {
	TypeURL string
	// Names are extension names a config may use without typed_config.
	Names []string
	// NewConfig returns an empty config message.
	NewConfig func() proto.Message
	// New builds the filter; next is the rest of the chain (nil for terminal filters).
	New func(cfg proto.Message, deps *Deps, next Handler) (Handler, error)
	// Terminal is set for filters that must end a chain.
	Terminal bool
}

var (
	mu     sync.RWMutex
	byURL  = map[string]*Registration{}
	byName = map[string]*Registration{}
)

// Register adds a network filter extension. It is called from init functions.
func Register(r Registration) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := byURL[r.TypeURL]; dup {
		panic("netfilter: duplicate registration of " + r.TypeURL)
	}
	byURL[r.TypeURL] = &r
	for _, n := range r.Names {
		byName[n] = &r
	}
}

// Lookup finds the registration for a filter config by type URL, or by name when the
// config has no typed_config.
func Lookup(name string, typed *anypb.Any) (*Registration, error) {
	mu.RLock()
	defer mu.RUnlock()
	if typed != nil {
		if r, ok := byURL[typed.GetTypeUrl()]; ok {
			return r, nil
		}
		return nil, fmt.Errorf("network filter %q: extension %s is not supported", name, typed.GetTypeUrl())
	}
	if r, ok := byName[name]; ok {
		return r, nil
	}
	return nil, fmt.Errorf("network filter %q: unknown filter name without typed_config", name)
}
