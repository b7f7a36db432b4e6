package probe

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// passthroughSource is the address the proxy binds to reach its own pod's IP:
// the capture rules let connections from 127.0.0.6 through to the app instead of
// sending them to the inbound listener (Istio's InboundPassthroughBindIpv4).
var passthroughSource = netip.MustParseAddr("127.0.0.6")

// Options say where probes go.
type Options struct {
	// PodIP is where a probe without a host goes, as the kubelet sends probes to the
	// pod's IP (INSTANCE_IP in the proxy container); empty means 127.0.0.1.
	PodIP string
}

// Handler serves a Set: GET <path> runs the probe registered at path and answers 200
// when it passes, the app's status (4xx/5xx) when an HTTP probe fails, 503 when the
// app cannot be reached, and 404 for a path with no probe.
type Handler struct {
	set    Set
	podIP  string
	client *http.Client
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a handler for s.
func NewHandler(s Set, o Options) *Handler {
	h := &Handler{set: s, podIP: o.PodIP}
	if h.podIP == "" {
		h.podIP = "127.0.0.1"
	}
	h.client = &http.Client{
		Transport: &http.Transport{
			DialContext: h.dial,
			// The kubelet does not verify an HTTPS probe's certificate either.
			TLSClientConfig:   &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // as the kubelet
			DisableKeepAlives: true,
		},
		// A redirect is a pass, as for the kubelet; it is not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	return h
}

// ServeHTTP runs the probe registered at the request's path.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, ok := h.set[r.URL.Path]
	if !ok {
		http.Error(w, "no probe at "+r.URL.Path, http.StatusNotFound)
		return
	}
	timeout := time.Duration(max(p.TimeoutSeconds, 1)) * time.Second
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	code, err := h.check(ctx, p, r.Header)
	if err != nil {
		http.Error(w, err.Error(), code)
		return
	}
	w.WriteHeader(code)
}

// check runs one probe and returns the status to answer with.
func (h *Handler) check(ctx context.Context, p *Prober, in http.Header) (int, error) {
	switch {
	case p.HTTPGet != nil:
		return h.checkHTTP(ctx, p.HTTPGet, in)
	case p.TCPSocket != nil:
		c, err := h.dial(ctx, "tcp", h.hostPort(p.TCPSocket.Host, p.TCPSocket.Port))
		if err != nil {
			return http.StatusServiceUnavailable, err
		}
		c.Close()
		return http.StatusOK, nil
	case p.GRPC != nil:
		return h.checkGRPC(ctx, p.GRPC)
	}
	return http.StatusInternalServerError, errors.New("probe has no handler")
}

func (h *Handler) checkHTTP(ctx context.Context, g *HTTPGet, in http.Header) (int, error) {
	scheme := "http"
	if g.Scheme == "HTTPS" {
		scheme = "https"
	}
	path := g.Path
	if !strings.HasPrefix(path, "/") {
		path = "/" + path
	}
	u, err := url.Parse(scheme + "://" + h.hostPort(g.Host, g.Port) + path)
	if err != nil {
		return http.StatusInternalServerError, fmt.Errorf("probe url: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return http.StatusInternalServerError, err
	}
	// The kubelet's own headers (User-Agent: kube-probe/1.x) go through, then the
	// probe's, which may set Host.
	for _, k := range []string{"User-Agent", "Accept"} {
		if v := in.Get(k); v != "" {
			req.Header.Set(k, v)
		}
	}
	for _, hd := range g.HTTPHeaders {
		if strings.EqualFold(hd.Name, "Host") {
			req.Host = hd.Value
			continue
		}
		req.Header.Add(hd.Name, hd.Value)
	}
	resp, err := h.client.Do(req)
	if err != nil {
		return http.StatusServiceUnavailable, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 10<<10))
	resp.Body.Close()
	if resp.StatusCode >= 200 && resp.StatusCode < 400 {
		return http.StatusOK, nil
	}
	return resp.StatusCode, fmt.Errorf("app answered %s", resp.Status)
}

func (h *Handler) checkGRPC(ctx context.Context, g *GRPC) (int, error) {
	cc, err := grpc.NewClient("passthrough:///"+h.hostPort("", g.Port),
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) { return h.dial(ctx, "tcp", addr) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDisableServiceConfig())
	if err != nil {
		return http.StatusInternalServerError, err
	}
	defer cc.Close()
	req := &healthpb.HealthCheckRequest{}
	if g.Service != nil {
		req.Service = *g.Service
	}
	resp, err := healthpb.NewHealthClient(cc).Check(ctx, req)
	if err != nil {
		return http.StatusServiceUnavailable, err
	}
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		return http.StatusServiceUnavailable, fmt.Errorf("app is %s", resp.GetStatus())
	}
	return http.StatusOK, nil
}

func (h *Handler) hostPort(host string, port int) string {
	if host == "" {
		host = h.podIP
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

// dial connects to addr, from 127.0.0.6 when addr is the pod's own non-loopback
// IPv4 address, so that the capture rules do not turn the probe into inbound mesh
// traffic.
func (h *Handler) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	if host, _, err := net.SplitHostPort(addr); err == nil && host == h.podIP {
		if ip, err := netip.ParseAddr(host); err == nil && ip.Is4() && !ip.IsLoopback() {
			d.LocalAddr = &net.TCPAddr{IP: passthroughSource.AsSlice()}
		}
	}
	return d.DialContext(ctx, network, addr)
}
