package proxy

import (
	"context"
	"io"
	"net"
	"net/http"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
)

// healthServer serves Istio's readiness endpoint (port 15021, /healthz/ready), which
// pilot-agent serves beside Envoy: 200 once the proxy is LIVE (its first xDS config
// applied) and not failing health checks, 503 otherwise.
func (p *Proxy) healthServer(ctx context.Context, ln net.Listener) {
	mux := http.NewServeMux()
	mux.HandleFunc("/healthz/ready", func(w http.ResponseWriter, r *http.Request) {
		st := p.state()
		if st != adminv3.ServerInfo_LIVE || p.healthFailed.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, st.String()+"\n")
			return
		}
		io.WriteString(w, "LIVE\n")
	})
	srv := &http.Server{Handler: mux}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	srv.Serve(ln)
}
