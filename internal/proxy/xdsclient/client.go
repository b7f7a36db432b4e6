package xdsclient

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/weftmesh/weft/internal/proxy/listener"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/secret"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/stats"
)

// Options configure a Client.
type Options struct {
	// Target is the ADS server's address (host:port).
	Target string
	// TLS, when set, is the client config of a stream over TLS (the bootstrap's ADS
	// cluster's UpstreamTlsContext, which verifies the server); nil is plaintext.
	TLS  *tls.Config
	Node *corev3.Node
	// Delta selects incremental xDS (DeltaAggregatedResources) instead of state of the world.
	Delta     bool
	Clusters  *upstream.Manager
	Listeners *listener.Manager
	Routes    *route.Providers
	Secrets   *secret.Manager
	Runtime   *runtime.Store
	Stats     *stats.Store
	Log       *slog.Logger
	// InitialFetchTimeout bounds warming: a cluster waiting for endpoints or a listener
	// waiting for routes is activated anyway after it (Envoy's default 15 s).
	InitialFetchTimeout time.Duration
}

// Client keeps the proxy's dynamic config in sync with the control plane.
type Client struct {
	opts Options
	log  *slog.Logger

	mu      sync.Mutex
	types   map[string]*typeState
	pending pending
	ready   chan struct{}
	once    sync.Once

	st clientStats
}

// typeState is what the client knows of one resource type.
type typeState struct {
	url string
	// names is the subscription (nil for wildcard types).
	names []string
	// version is the last accepted version_info; nonce the last nonce received.
	version string
	nonce   string
	// known are the resources accepted, by name, with their version (delta).
	known map[string]string
	// received is set once a response for the type was accepted.
	received bool
	// nackVersion and nacks count consecutive rejections of one version, to back off
	// from servers that send a rejected version again at once.
	nackVersion string
	nacks       int
}

// nackDelay returns how long to wait before NACKing version again: nothing the first
// time, then 100 ms doubling up to 10 s.
func (t *typeState) nackDelay(version string) time.Duration {
	if version != t.nackVersion {
		t.nackVersion, t.nacks = version, 0
	}
	t.nacks++
	if t.nacks == 1 {
		return 0
	}
	return min(100*time.Millisecond<<min(t.nacks-2, 10), 10*time.Second)
}

// New returns a client; Run connects it.
func New(opts Options) *Client {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.InitialFetchTimeout == 0 {
		opts.InitialFetchTimeout = 15 * time.Second
	}
	c := &Client{opts: opts, log: opts.Log, types: map[string]*typeState{}, ready: make(chan struct{})}
	for _, t := range typeOrder {
		c.types[t] = &typeState{url: t, known: map[string]string{}}
	}
	c.pending = newPending()
	c.st = newClientStats(opts.Stats)
	return c
}

// Ready is closed when the first clusters and listeners have been applied (or the
// initial fetch timeout passed): the proxy is then initialised.
func (c *Client) Ready() <-chan struct{} { return c.ready }

func (c *Client) markReady() { c.once.Do(func() { close(c.ready) }) }

// Versions returns the last accepted version of each type, by short name.
func (c *Client) Versions() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]string{}
	for url, t := range c.types {
		out[shortName(url)] = t.version
	}
	return out
}

// Run keeps a stream to the control plane until ctx ends, reconnecting with jittered
// exponential back-off (0.5 s to 30 s). The proxy keeps its config meanwhile.
func (c *Client) Run(ctx context.Context) error {
	go c.warmTimeouts(ctx)
	backoff := 500 * time.Millisecond
	for {
		start := time.Now()
		err := c.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		c.st.connected.Set(0)
		c.log.Warn("xds stream ended", "target", c.opts.Target, "error", err)
		if time.Since(start) > 30*time.Second {
			backoff = 500 * time.Millisecond
		}
		wait := backoff/2 + rand.N(backoff/2+1)
		backoff = min(2*backoff, 30*time.Second)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// session runs one stream.
func (c *Client) session(ctx context.Context) error {
	creds := insecure.NewCredentials()
	if c.opts.TLS != nil {
		creds = credentials.NewTLS(c.opts.TLS)
	}
	conn, err := grpc.NewClient(c.opts.Target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return fmt.Errorf("dial %s: %w", c.opts.Target, err)
	}
	defer conn.Close()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ads := discoveryv3.NewAggregatedDiscoveryServiceClient(conn)
	if c.opts.Delta {
		return c.deltaSession(sctx, ads)
	}
	return c.sotwSession(sctx, ads)
}

// errUnknownType is returned for a response of a type the client did not ask for.
var errUnknownType = errors.New("resource type not subscribed")
