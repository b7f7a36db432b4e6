package admin

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"

	"github.com/weftmesh/weft/internal/proxy/accesslog"
	"github.com/weftmesh/weft/internal/proxy/listener"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/secret"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/stats"
)

// Deps is what the endpoints read and the callbacks they use to change the process.
// Every field is optional: a missing manager shows as empty output, a missing
// callback does nothing.
type Deps struct {
	Stats      *stats.Store
	Clusters   *upstream.Manager
	Listeners  *listener.Manager
	Secrets    *secret.Manager
	AccessLogs *accesslog.Manager
	// Routes are the route configurations received by RDS (dynamic_route_configs).
	Routes *route.Providers
	// Runtime is the layered runtime; nil is Envoy's null runtime (no layers).
	Runtime *runtime.Store
	// Bootstrap is the config the proxy was started with (/config_dump, /server_info,
	// the admin profile_path).
	Bootstrap *bootstrapv3.Bootstrap
	// LogLevel is the process log level, shown and set by /logging.
	LogLevel *slog.LevelVar
	// Log receives the admin server's own errors. Nil discards them.
	Log *slog.Logger
	// Start is when the proxy started (uptime; last_updated of static resources).
	Start time.Time
	// Clock is the time for uptimes. Nil means time.Now.
	Clock func() time.Time
	// Version is weft's version; /server_info reports "weft/<Version>".
	Version string
	// Concurrency, ConfigPath and DrainTime are reported in /server_info's
	// command_line_options.
	Concurrency int
	ConfigPath  string
	DrainTime   time.Duration

	// HealthCheckFailed is set by /healthcheck/fail and cleared by /healthcheck/ok;
	// the health-check filter and /ready read it.
	HealthCheckFailed *atomic.Bool
	// State reports the server's initialisation state; nil means always LIVE.
	// A LIVE server whose health check was failed reports DRAINING, as in Envoy.
	State func() adminv3.ServerInfo_State
	// Drain stops the listeners (only the inbound ones when inboundOnly) and tells
	// their connections to finish (/drain_listeners). It must not block for long.
	Drain func(inboundOnly bool)
	// Quit starts a clean exit (/quitquitquit). It is called after the response is
	// written, on its own goroutine.
	Quit func()
}

// Server serves the admin endpoints.
type Server struct {
	d           Deps
	log         *slog.Logger
	endpoints   []*endpoint // sorted by path
	byPath      map[string]*endpoint
	profilePath string

	lookups  atomic.Bool // /stats/recentlookups enabled
	draining atomic.Bool // a graceful drain was started

	profMu      sync.Mutex
	cpuProfile  *os.File
	heapStarted bool
}

// DefaultProfilePath is where /cpuprofiler and /heapprofiler write when the
// bootstrap's admin.profile_path is empty: weft.prof in the OS temp directory
// (Envoy's default, /var/log/envoy/envoy.prof, is often not writable).
var DefaultProfilePath = filepath.Join(os.TempDir(), "weft.prof")

// New returns a server for deps.
func New(deps Deps) *Server {
	s := &Server{d: withDefaults(deps), log: deps.Log}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.profilePath = deps.Bootstrap.GetAdmin().GetProfilePath()
	if s.profilePath == "" {
		s.profilePath = DefaultProfilePath
	}
	s.endpoints = s.table()
	s.byPath = make(map[string]*endpoint, len(s.endpoints))
	for _, e := range s.endpoints {
		s.byPath[e.path] = e
	}
	return s
}

func withDefaults(d Deps) Deps {
	if d.Clock == nil {
		d.Clock = time.Now
	}
	if d.Start.IsZero() {
		d.Start = d.Clock()
	}
	if d.Runtime == nil {
		d.Runtime, _ = runtime.New(nil) // the null runtime cannot fail
	}
	if d.LogLevel == nil {
		d.LogLevel = new(slog.LevelVar)
	}
	if d.HealthCheckFailed == nil {
		d.HealthCheckFailed = new(atomic.Bool)
	}
	if d.Version == "" {
		d.Version = "dev"
	}
	if d.Drain == nil {
		d.Drain = func(bool) {}
	}
	if d.Quit == nil {
		d.Quit = func() {}
	}
	return d
}

// Handler returns the admin endpoints as an http.Handler.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

// Serve serves the admin endpoints on ln until ctx ends, then shuts down: requests in
// flight get a few seconds to finish. A CPU profile still running is stopped.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer s.stopProfiling()
	select {
	case err := <-errc:
		return fmt.Errorf("admin: serve %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("admin: shutdown: %w", err)
	}
	return nil
}

// serveHTTP finds the endpoint for the exact path, enforces POST for endpoints that
// change state, parses the query (and a form body) and runs the handler. Responses
// carry Envoy's fallback headers: text/plain unless the handler says otherwise,
// Cache-Control no-cache and X-Content-Type-Options nosniff.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", contentTypeText)
	h.Set("Cache-Control", "no-cache, max-age=0")
	h.Set("X-Content-Type-Options", "nosniff")
	e, ok := s.byPath[r.URL.Path]
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "invalid path. "+s.helpText())
		return
	}
	if e.mutates && r.Method != http.MethodPost {
		s.log.Warn("admin path mutates state, method is not POST", "path", e.path, "method", r.Method)
		w.WriteHeader(http.StatusMethodNotAllowed)
		fmt.Fprintf(w, "Method %s not allowed, POST required.", r.Method)
		return
	}
	if err := r.ParseForm(); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, "invalid query: %v\n", err)
		return
	}
	e.handle(w, r)
}

// Content types Envoy's admin sends.
const (
	contentTypeText = "text/plain; charset=UTF-8"
	contentTypeJSON = "application/json"
	contentTypeHTML = "text/html; charset=UTF-8"
)

// state is the server state /ready and /server_info report.
func (s *Server) state() adminv3.ServerInfo_State {
	st := adminv3.ServerInfo_LIVE
	if s.d.State != nil {
		st = s.d.State()
	}
	if st == adminv3.ServerInfo_LIVE && s.d.HealthCheckFailed.Load() {
		return adminv3.ServerInfo_DRAINING
	}
	return st
}

// clusters lists the clusters, sorted by name.
func (s *Server) clusters() []*upstream.Cluster {
	if s.d.Clusters == nil {
		return nil
	}
	return s.d.Clusters.Clusters()
}

// listeners lists the listeners, sorted by name.
func (s *Server) listeners() []*listener.Listener {
	if s.d.Listeners == nil {
		return nil
	}
	return s.d.Listeners.Listeners()
}
