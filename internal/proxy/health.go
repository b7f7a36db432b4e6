package proxy

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"

	"github.com/weftmesh/weft/internal/proxy/probe"
	"github.com/weftmesh/weft/internal/stats"
)

// healthServer serves Istio's readiness endpoint (port 15021, /healthz/ready), which
// pilot-agent serves beside Envoy.
func (p *Proxy) healthServer(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz/ready", p.handleReady)
	serve(ctx, ln, mux)
}

// statusServer serves pilot-agent's status port (15020): /healthz/ready, the
// proxy's stats in Prometheus form at /stats/prometheus (what the injector's
// prometheus.io annotations point at), and the rewritten application probes at
// /app-health/<container>/{readyz,livez,startupz}.
func (p *Proxy) statusServer(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz/ready", p.handleReady)
	mux.HandleFunc("/stats/prometheus", p.handlePrometheus)
	mux.Handle("/app-health/", probe.NewHandler(p.opts.AppProbers, probe.Options{PodIP: p.opts.PodIP}))
	serve(ctx, ln, mux)
}

// handleReady answers 200 once the proxy is LIVE (its first xDS config applied) and
// not failing health checks, 503 otherwise.
func (p *Proxy) handleReady(w http.ResponseWriter, _ *http.Request) {
	st := p.state()
	if st != adminv3.ServerInfo_LIVE || p.healthFailed.Load() {
		w.WriteHeader(http.StatusServiceUnavailable)
		io.WriteString(w, st.String()+"\n")
		return
	}
	io.WriteString(w, "LIVE\n")
}

func (p *Proxy) handlePrometheus(w http.ResponseWriter, _ *http.Request) {
	var b bytes.Buffer
	if err := stats.Write(&b, p.Stats.Snapshot(), stats.Options{Format: stats.FormatPrometheus}); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", stats.FormatPrometheus.ContentType())
	w.Write(b.Bytes())
}

// serve runs an HTTP server on ln until ctx ends.
func serve(ctx context.Context, ln net.Listener, h http.Handler) {
	srv := &http.Server{Handler: h}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	srv.Serve(ln)
}
