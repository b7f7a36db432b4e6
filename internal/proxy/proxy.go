package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/weftmesh/weft/internal/proxy/accesslog"
	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/listener"
	"github.com/weftmesh/weft/internal/proxy/secret"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/stats"
)

func init() {
	config.Support(&bootstrapv3.Bootstrap{}, "node", "static_resources", "admin")
	config.Support(&bootstrapv3.Bootstrap_StaticResources{}, "listeners", "clusters", "secrets")
	config.Support(&bootstrapv3.Admin{}, "address", "access_log_path", "access_log", "profile_path")
	config.Support(&corev3.Node{}, "id", "cluster", "metadata", "locality", "user_agent_name")
}

// Options configure a proxy beyond its bootstrap.
type Options struct {
	// Concurrency is the number of worker threads Envoy would run; weft sets GOMAXPROCS
	// and the accept loops per listener from it.
	Concurrency int
	// DrainTime bounds how long draining waits for connections to finish.
	DrainTime time.Duration
	Log       *slog.Logger
	// LogLevel is the process log level, changed by the admin /logging endpoint.
	LogLevel *slog.LevelVar
	// Resolver resolves DNS clusters' names (default: the system resolver).
	Resolver upstream.Resolver
}

// Proxy is a running data plane.
type Proxy struct {
	opts      Options
	bootstrap *bootstrapv3.Bootstrap
	log       *slog.Logger
	start     time.Time

	Stats      *stats.Store
	Secrets    *secret.Manager
	Clusters   *upstream.Manager
	Listeners  *listener.Manager
	AccessLogs *accesslog.Manager
}

// New builds every static resource of the bootstrap. Listeners start accepting at once.
func New(ctx context.Context, b *bootstrapv3.Bootstrap, opts Options) (*Proxy, error) {
	if opts.Concurrency < 1 {
		opts.Concurrency = 2
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.LogLevel == nil {
		opts.LogLevel = new(slog.LevelVar)
	}
	runtime.GOMAXPROCS(opts.Concurrency)
	p := &Proxy{opts: opts, bootstrap: b, log: opts.Log, start: time.Now(), Stats: stats.NewStore()}
	p.Secrets = secret.NewManager(secret.Options{Logger: opts.Log})
	p.AccessLogs = accesslog.NewManager(accesslog.WithLogger(opts.Log))
	p.Clusters = upstream.NewManager(upstream.Options{Stats: p.Stats, ClientTLS: p.Secrets.ClientConfig, Log: opts.Log, Resolver: opts.Resolver})
	p.Listeners = listener.NewManager(ctx, listener.Options{
		Clusters: p.Clusters, Secrets: p.Secrets, Stats: p.Stats, AccessLogs: p.AccessLogs,
		Log: opts.Log, Concurrency: opts.Concurrency,
	})
	if err := p.addStatic(ctx); err != nil {
		p.Listeners.Shutdown(canceled())
		p.Clusters.Close()
		return nil, err
	}
	return p, nil
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// addStatic adds the bootstrap's static secrets, clusters and listeners, in that order.
func (p *Proxy) addStatic(ctx context.Context) error {
	sr := p.bootstrap.GetStaticResources()
	for i, s := range sr.GetSecrets() {
		if err := p.Secrets.Set(s); err != nil {
			return fmt.Errorf("static_resources.secrets[%d]: %w", i, err)
		}
	}
	for i, c := range sr.GetClusters() {
		if _, err := p.Clusters.AddOrUpdate(ctx, c, false); err != nil {
			return fmt.Errorf("static_resources.clusters[%d]: %w", i, err)
		}
	}
	for i, l := range sr.GetListeners() {
		if _, err := p.Listeners.AddOrUpdate(l, false); err != nil {
			return fmt.Errorf("static_resources.listeners[%d]: %w", i, err)
		}
	}
	return nil
}

// Bootstrap returns the bootstrap the proxy runs.
func (p *Proxy) Bootstrap() *bootstrapv3.Bootstrap { return p.bootstrap }

// Run serves until ctx ends, then drains: listeners stop accepting, connections get
// up to the drain time to finish, and whatever is left is closed.
func (p *Proxy) Run(ctx context.Context) error {
	go p.Clusters.Run(ctx)
	go p.flushStats(ctx)
	<-ctx.Done()
	p.Shutdown()
	return nil
}

// statsFlushInterval is Envoy's default stats_flush_interval: histograms' interval
// quantiles cover the last such period.
const statsFlushInterval = 5 * time.Second

func (p *Proxy) flushStats(ctx context.Context) {
	t := time.NewTicker(statsFlushInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Stats.Flush()
		}
	}
}

// Shutdown drains and closes everything.
func (p *Proxy) Shutdown() {
	dctx, cancel := context.WithTimeout(context.Background(), p.opts.DrainTime)
	defer cancel()
	p.Listeners.Shutdown(dctx)
	p.Clusters.Close()
	p.AccessLogs.Close()
}
