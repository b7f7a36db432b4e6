package ads

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// Resource is one generated xDS resource: its name and its Envoy v3 message.
type Resource struct {
	Name    string
	Message proto.Message
}

// Generator makes the resources of one type for one node. It must be a pure function of
// its arguments, safe for concurrent use, and must not change the snapshot. names are
// the names the node subscribed to, sorted, or nil for a wildcard subscription; the
// server drops resources the node did not ask for, so a generator may ignore names
// unless they shape what it makes (proxyless gRPC listeners are named by the target the
// client dials). A type it does not serve yields no resources and no error.
type Generator interface {
	Generate(node *mesh.Node, snap *mesh.Snapshot, typeURL string, names []string) ([]Resource, error)
}

// SessionGenerator is a Generator that also generates several types for one node and
// snapshot in a session, sharing the work they have in common; a push regenerates all
// its types in one session. A session is used by one goroutine, then dropped.
type SessionGenerator interface {
	Generator
	Session(node *mesh.Node, snap *mesh.Snapshot) func(typeURL string, names []string) ([]Resource, error)
}

// GeneratorFunc adapts a function to a Generator.
type GeneratorFunc func(node *mesh.Node, snap *mesh.Snapshot, typeURL string, names []string) ([]Resource, error)

// Generate calls f.
func (f GeneratorFunc) Generate(node *mesh.Node, snap *mesh.Snapshot, typeURL string, names []string) ([]Resource, error) {
	return f(node, snap, typeURL, names)
}

// Validator checks one generated resource for node before it is sent; an error fails the
// node's generation of that type. The server calls it once per distinct content (by the
// hash of the encoded resource, and whether the node is proxyless), not once per node:
// in a mesh of thousands of sidecars most resources are the same bytes for many nodes.
type Validator func(node *mesh.Node, typeURL, name string, m proto.Message) error

// SnapshotSource builds a new immutable snapshot of the mesh, stamped with version. It is
// called from one goroutine at a time, once per debounced batch of events.
type SnapshotSource interface {
	Snapshot(version string) *mesh.Snapshot
}

// SnapshotFunc adapts a function to a SnapshotSource.
type SnapshotFunc func(version string) *mesh.Snapshot

// Snapshot calls f.
func (f SnapshotFunc) Snapshot(version string) *mesh.Snapshot { return f(version) }

// Options configure a Server. Generator and Snapshots are required.
type Options struct {
	Generator Generator
	Snapshots SnapshotSource
	// Validate, when set, checks each resource the generator makes (see Validator).
	Validate Validator
	// Log receives connection and push events; nil discards them.
	Log *slog.Logger
	// Registry receives the server's metrics and is what /metrics serves; nil: a new one.
	Registry *prometheus.Registry
	// DebounceAfter is how long events must be quiet before a push (istiod's
	// PILOT_DEBOUNCE_AFTER, 100 ms); DebounceMax bounds the wait (PILOT_DEBOUNCE_MAX, 10 s).
	DebounceAfter time.Duration
	DebounceMax   time.Duration
	// PushConcurrency bounds how many nodes generate and send config at once (istiod's
	// PILOT_PUSH_THROTTLE, 100): what waits in a send is generated config held in
	// memory, so the bound covers the sends too.
	PushConcurrency int
	// SlowSend is how long a node's sends may hold their place under PushConcurrency
	// (default 5 s): a node that reads slowly then goes on sending outside the bound,
	// so that it cannot stall everyone else's pushes.
	SlowSend time.Duration
	// ID names this control plane instance in /debug/syncz; Version is its build version.
	ID      string
	Version string
}

func (o *Options) defaults() error {
	if o.Generator == nil || o.Snapshots == nil {
		return errors.New("ads: options need a generator and a snapshot source")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.DebounceAfter <= 0 {
		o.DebounceAfter = 100 * time.Millisecond
	}
	if o.DebounceMax <= 0 {
		o.DebounceMax = 10 * time.Second
	}
	if o.PushConcurrency <= 0 {
		o.PushConcurrency = 100
	}
	if o.SlowSend <= 0 {
		o.SlowSend = 5 * time.Second
	}
	if o.ID == "" {
		o.ID = "weft-control"
	}
	return nil
}

// Server is the ADS server. Build it with New, register it on a gRPC server (Register)
// or let Serve do everything; feed it events with ConfigChanged and RegistryChanged.
type Server struct {
	discoveryv3.UnimplementedAggregatedDiscoveryServiceServer

	opts  Options
	log   *slog.Logger
	m     *metrics
	valid validCache

	current     atomic.Pointer[mesh.Snapshot]
	ready       chan struct{} // closed once the first snapshot is built
	readyOnce   sync.Once
	versionSeq  atomic.Uint64
	nonceSeq    atomic.Uint64
	connSeq     atomic.Uint64
	noncePrefix string
	sem         chan struct{} // bounds concurrent generation and sends (see slot)

	mu       sync.RWMutex
	conns    map[string]*connection // by connection ID
	versions map[string]int         // connected nodes by ISTIO_VERSION, for pilot_xds

	updMu   sync.Mutex
	upd     trigger       // events not yet taken by the debounce loop
	updCh   chan struct{} // capacity 1: upd has events
	running atomic.Bool
}

var _ discoveryv3.AggregatedDiscoveryServiceServer = (*Server)(nil)

// New returns a Server. Nothing runs until Run or Serve.
func New(opts Options) (*Server, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("ads: %w", err)
	}
	var prefix [4]byte
	_, _ = rand.Read(prefix[:])
	return &Server{
		opts: opts, log: opts.Log, m: m,
		ready:       make(chan struct{}),
		noncePrefix: hex.EncodeToString(prefix[:]),
		sem:         make(chan struct{}, opts.PushConcurrency),
		conns:       map[string]*connection{},
		versions:    map[string]int{},
		updCh:       make(chan struct{}, 1),
	}, nil
}

// Register adds the Aggregated Discovery Service to a gRPC server. Streams wait for
// the first snapshot, which Run builds.
func (s *Server) Register(g grpc.ServiceRegistrar) {
	discoveryv3.RegisterAggregatedDiscoveryServiceServer(g, s)
}

// Snapshot returns the snapshot nodes are served from, or nil before the first build.
func (s *Server) Snapshot() *mesh.Snapshot { return s.current.Load() }

// Serve runs the server until ctx ends: the debounce loop, ADS on xds and, when
// monitoring is not nil, /metrics and /debug/* on monitoring; with WithSecureXDS, ADS
// over TLS too. It closes every listener.
func (s *Server) Serve(ctx context.Context, xds, monitoring net.Listener, opts ...ServeOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var c serveConfig
	for _, o := range opts {
		o(&c)
	}
	gs, gss := s.grpcServers(c,
		// istiod's keepalive: clients may ping every 15 s, even between streams; dead
		// peers are found within 40 s.
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 15 * time.Second, PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{Time: 30 * time.Second, Timeout: 10 * time.Second}),
	)
	hs := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	start := func(f func() error) {
		wg.Go(func() { errc <- f() })
	}
	start(func() error { return s.Run(ctx) })
	start(func() error { return gs.Serve(xds) })
	if gss != nil {
		start(func() error { return gss.Serve(c.secure) })
	}
	if monitoring != nil {
		start(func() error {
			if err := hs.Serve(monitoring); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("monitoring: %w", err)
			}
			return nil
		})
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	cancel()
	gs.Stop()
	if gss != nil {
		gss.Stop()
	}
	_ = hs.Close()
	wg.Wait()
	return err
}
