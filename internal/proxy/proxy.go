package proxy

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/weftmesh/weft/internal/proxy/accesslog"
	"github.com/weftmesh/weft/internal/proxy/admin"
	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/listener"
	"github.com/weftmesh/weft/internal/proxy/probe"
	"github.com/weftmesh/weft/internal/proxy/route"
	wruntime "github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/secret"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/proxy/xdsclient"
	"github.com/weftmesh/weft/internal/stats"
)

func init() {
	config.Support(&bootstrapv3.Bootstrap{}, "node", "static_resources", "admin", "dynamic_resources", "deferred_stat_options")
	config.SupportAll(&bootstrapv3.Bootstrap_DeferredStatOptions{})
	config.Support(&bootstrapv3.Bootstrap_StaticResources{}, "listeners", "clusters", "secrets")
	config.Support(&bootstrapv3.Admin{}, "address", "access_log_path", "profile_path")
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
	// Version and ConfigPath are reported by the admin /server_info.
	Version    string
	ConfigPath string
	// HealthAddress, when set, serves Istio's /healthz/ready there (":15021").
	HealthAddress string
	// StatusAddress, when set, serves pilot-agent's status port there (":15020"):
	// /healthz/ready, /stats/prometheus and the AppProbers at /app-health/.
	StatusAddress string
	// AppProbers are the pod's application probes the injector moved to the status
	// port; PodIP is where they go when they name no host.
	AppProbers probe.Set
	PodIP      string
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
	Runtime    *wruntime.Store
	Admin      *admin.Server
	// Routes are the RDS route configurations; XDS is the xDS client (nil when the
	// bootstrap is static only).
	Routes *route.Providers
	XDS    *xdsclient.Client

	server       *serverStats
	adminLn      net.Listener
	healthLn     net.Listener
	statusLn     net.Listener
	healthFailed atomic.Bool
	quit         chan struct{}
	quitOnce     sync.Once
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
	p := &Proxy{opts: opts, bootstrap: b, log: opts.Log, start: time.Now(), Stats: stats.NewStore(), quit: make(chan struct{})}
	rt, err := wruntime.New(b.GetLayeredRuntime())
	if err != nil {
		return nil, fmt.Errorf("layered_runtime: %w", err)
	}
	p.Runtime = rt
	p.Routes = route.NewProviders()
	p.server = newServerStats(p.Stats.Scope("server."))
	p.Secrets = secret.NewManager(secret.Options{Logger: opts.Log})
	p.AccessLogs = accesslog.NewManager(accesslog.WithLogger(opts.Log))
	p.Clusters = upstream.NewManager(upstream.Options{Stats: p.Stats, ClientTLS: p.Secrets.ClientConfig, Log: opts.Log, Resolver: opts.Resolver,
		DeferStats: b.GetDeferredStatOptions().GetEnableDeferredCreationStats()})
	p.Listeners = listener.NewManager(ctx, listener.Options{
		Clusters: p.Clusters, Secrets: p.Secrets, Stats: p.Stats, AccessLogs: p.AccessLogs, Runtime: p.Runtime,
		Routes: p.Routes, Log: opts.Log, Concurrency: opts.Concurrency, DrainTime: opts.DrainTime,
	})
	if err := p.addStatic(ctx); err != nil {
		p.Listeners.Shutdown(canceled())
		p.Clusters.Close()
		return nil, err
	}
	xo, dynamic, err := p.xdsOptions()
	if err != nil {
		p.Listeners.Shutdown(canceled())
		p.Clusters.Close()
		return nil, err
	}
	if dynamic {
		p.XDS = xdsclient.New(xo)
	}
	if err := p.startAdmin(ctx); err != nil {
		p.Listeners.Shutdown(canceled())
		p.Clusters.Close()
		return nil, err
	}
	p.server.initTimeMs.Set(time.Since(p.start).Milliseconds())
	p.server.version.Set(versionGauge(p.opts.Version))
	p.refreshServerStats()
	return p, nil
}

// startAdmin opens the admin listener when the bootstrap has an admin address.
func (p *Proxy) startAdmin(ctx context.Context) error {
	a := p.bootstrap.GetAdmin()
	if path := a.GetAccessLogPath(); path != "" && path != "/dev/null" {
		return fmt.Errorf("admin.access_log_path: only /dev/null is supported (admin requests are not logged)")
	}
	p.Admin = admin.New(admin.Deps{
		Stats: p.Stats, Clusters: p.Clusters, Listeners: p.Listeners, Secrets: p.Secrets,
		AccessLogs: p.AccessLogs, Runtime: p.Runtime, Routes: p.Routes, Bootstrap: p.bootstrap, LogLevel: p.opts.LogLevel,
		Log: p.log, Start: p.start, Version: p.opts.Version, Concurrency: p.opts.Concurrency,
		ConfigPath: p.opts.ConfigPath, DrainTime: p.opts.DrainTime, HealthCheckFailed: &p.healthFailed,
		State: p.state, Drain: p.drain, Quit: p.Quit,
	})
	err := p.listen(ctx, a)
	if err != nil {
		for _, ln := range []net.Listener{p.healthLn, p.statusLn, p.adminLn} {
			if ln != nil {
				ln.Close()
			}
		}
	}
	return err
}

// listen opens the health, status and admin listeners that are configured.
func (p *Proxy) listen(ctx context.Context, a *bootstrapv3.Admin) error {
	var err error
	if p.healthLn, err = listenOptional(ctx, p.opts.HealthAddress); err != nil {
		return fmt.Errorf("health address: %w", err)
	}
	if p.statusLn, err = listenOptional(ctx, p.opts.StatusAddress); err != nil {
		return fmt.Errorf("status address: %w", err)
	}
	if a.GetAddress() == nil {
		return nil
	}
	addr, err := config.IPAddress(a.GetAddress())
	if err != nil {
		return fmt.Errorf("admin.address: %w", err)
	}
	if p.adminLn, err = listenOptional(ctx, addr.String()); err != nil {
		return fmt.Errorf("admin.address: %w", err)
	}
	return nil
}

// listenOptional listens on addr, or returns nil when addr is empty.
func listenOptional(ctx context.Context, addr string) (net.Listener, error) {
	if addr == "" {
		return nil, nil
	}
	var lc net.ListenConfig
	return lc.Listen(ctx, "tcp", addr)
}

// StatusAddress returns the status listener's address, or "" when there is none.
func (p *Proxy) StatusAddress() string {
	if p.statusLn == nil {
		return ""
	}
	return p.statusLn.Addr().String()
}

// AdminAddress returns the admin listener's address, or "" when there is none.
func (p *Proxy) AdminAddress() string {
	if p.adminLn == nil {
		return ""
	}
	return p.adminLn.Addr().String()
}

// state is the server state /ready and /server_info report.
func (p *Proxy) state() adminv3.ServerInfo_State {
	if p.Listeners.Draining() {
		return adminv3.ServerInfo_DRAINING
	}
	if p.XDS != nil {
		select {
		case <-p.XDS.Ready():
		default:
			return adminv3.ServerInfo_INITIALIZING
		}
	}
	return adminv3.ServerInfo_LIVE
}

// drain serves /drain_listeners.
func (p *Proxy) drain(inboundOnly bool) {
	if !inboundOnly {
		p.Listeners.Drain()
		return
	}
	p.Listeners.DrainListeners((*listener.Listener).Inbound)
}

// Quit makes Run drain and return, as /quitquitquit does.
func (p *Proxy) Quit() { p.quitOnce.Do(func() { close(p.quit) }) }

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
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go p.Clusters.Run(ctx)
	go p.flushStats(ctx)
	if p.adminLn != nil {
		go p.Admin.Serve(ctx, p.adminLn)
	}
	if p.XDS != nil {
		go p.XDS.Run(ctx)
	}
	if p.healthLn != nil {
		go p.healthServer(ctx, p.healthLn)
	}
	if p.statusLn != nil {
		go p.statusServer(ctx, p.statusLn)
	}
	select {
	case <-ctx.Done():
	case <-p.quit:
	}
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
			p.refreshServerStats()
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
