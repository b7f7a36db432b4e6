package router

import (
	"strconv"
	"sync/atomic"
	"time"

	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/stats"
)

// TypeURL is the router's config type URL.
const TypeURL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router"

func init() {
	httpfilter.Register(httpfilter.Registration{
		TypeURL:   TypeURL,
		Names:     []string{"envoy.filters.http.router", "envoy.router"},
		NewConfig: func() proto.Message { return &routerv3.Router{} },
		New: func(cfg proto.Message, deps *httpfilter.Deps) (httpfilter.Filter, error) {
			return New(cfg.(*routerv3.Router), deps), nil
		},
		Terminal: true,
	})
	config.Support(&routerv3.Router{}, "dynamic_stats", "suppress_envoy_headers", "respect_expected_rq_timeout")
}

// Router forwards requests upstream. One Router serves every stream of its filter chain.
type Router struct {
	clusters        *upstream.Manager
	store           *stats.Store
	suppressHeaders bool
	respectExpected bool
	st              routerStats
}

type routerStats struct {
	noRoute, noCluster, redirect, direct, resetAfterStarted *stats.Counter
}

// idempotent reports whether a method may be sent twice (RFC 9110 9.2.2).
func idempotent(method string) bool {
	switch method {
	case "GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE":
		return true
	}
	return false
}

// New returns a router.
func New(cfg *routerv3.Router, deps *httpfilter.Deps) *Router {
	sc := deps.Stats.Scope(deps.StatPrefix)
	return &Router{
		clusters:        deps.Clusters,
		store:           deps.Stats,
		suppressHeaders: cfg.GetSuppressEnvoyHeaders(),
		respectExpected: cfg.GetRespectExpectedRqTimeout(),
		st: routerStats{
			noRoute: sc.Counter("no_route"), noCluster: sc.Counter("no_cluster"),
			redirect: sc.Counter("rq_redirect"), direct: sc.Counter("rq_direct_response"),
			resetAfterStarted: sc.Counter("rq_reset_after_downstream_response_started"),
		},
	}
}

var _ httpfilter.Filter = (*Router)(nil)

// DecodeHeaders routes the request and answers it; it always stops the chain.
func (r *Router) DecodeHeaders(s *httpfilter.Stream) httpfilter.Status {
	rt := s.Route
	if rt == nil {
		r.st.noRoute.Inc()
		s.SendLocalReply(404, "", streaminfo.NoRouteFound, "route_not_found", nil)
		return httpfilter.Stop
	}
	s.Info.RouteName = rt.Name()
	if reply, ok := rt.LocalReply(&s.Request, &s.Info); ok {
		r.localRoute(s, rt, &reply)
		return httpfilter.Stop
	}
	name := rt.ClusterName(&s.Request)
	c := r.clusters.Cluster(name)
	if c == nil {
		r.st.noCluster.Inc()
		s.SendLocalReply(rt.ClusterNotFoundCode(), "", streaminfo.NoClusterFound, "cluster_not_found", r.finalizer(s))
		return httpfilter.Stop
	}
	s.Info.UpstreamCluster = name
	s.Info.VirtualClusterName = rt.VirtualClusterName(&s.Request)
	r.forward(s, rt, c)
	return httpfilter.Stop
}

// localRoute answers a redirect or direct-response route.
func (r *Router) localRoute(s *httpfilter.Stream, rt *route.Entry, reply *route.Reply) {
	if reply.Status >= 300 && reply.Status < 400 {
		r.st.redirect.Inc()
	} else {
		r.st.direct.Inc()
	}
	s.Info.ResponseCodeDetails = "direct_response"
	h := s.ResponseHeaders()
	h.CopyFrom(&reply.Headers)
	if reply.Body == "" || s.Request.Get(header.Method) == "HEAD" {
		s.SendHeaders(h, true)
		return
	}
	if s.SendHeaders(h, false) == nil {
		s.SendData([]byte(reply.Body))
		s.End(nil)
	}
}

// finalizer applies the route's response headers to a local reply.
func (r *Router) finalizer(s *httpfilter.Stream) func(*header.Map) {
	return func(h *header.Map) { s.Route.FinalizeResponse(h, &s.Info) }
}

// timeout returns the request's upstream timeout (0: none) and sets
// x-envoy-expected-rq-timeout-ms for the upstream.
func (r *Router) timeout(s *httpfilter.Stream, rt *route.Entry) time.Duration {
	t := rt.Timeout()
	h := &s.Request
	if v, ok := h.Lookup("x-envoy-upstream-rq-timeout-ms"); ok {
		if ms, err := strconv.ParseUint(v, 10, 32); err == nil {
			t = time.Duration(ms) * time.Millisecond
		}
		h.Del("x-envoy-upstream-rq-timeout-ms")
	}
	if r.respectExpected {
		if v, ok := h.Lookup("x-envoy-expected-rq-timeout-ms"); ok {
			if ms, err := strconv.ParseUint(v, 10, 32); err == nil {
				t = time.Duration(ms) * time.Millisecond
			}
		}
	}
	if t > 0 && !r.suppressHeaders {
		h.Set("x-envoy-expected-rq-timeout-ms", msString(t))
	}
	return t
}

// msCache remembers the text of the last timeout formatted: routes mostly share one.
var msCache atomic.Pointer[msText]

type msText struct {
	d time.Duration
	s string
}

// msString returns d in milliseconds as text.
func msString(d time.Duration) string {
	if c := msCache.Load(); c != nil && c.d == d {
		return c.s
	}
	c := &msText{d: d, s: strconv.FormatInt(d.Milliseconds(), 10)}
	msCache.Store(c)
	return c.s
}

const overflowBody = "upstream connect error or disconnect/reset before headers. reset reason: overflow"
