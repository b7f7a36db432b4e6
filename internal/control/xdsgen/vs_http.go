package xdsgen

import (
	"errors"
	"fmt"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
)

// routeCtx is where a VirtualService is translated: the listener port and the gateway
// ("mesh" for sidecars, "ns/name" for a Gateway) whose traffic its routes serve.
type routeCtx struct {
	g       *gen
	vs      config.Config
	spec    *networking.VirtualService
	port    uint32
	gateway string
}

func (g *gen) newRouteCtx(vs config.Config, port uint32, gateway string) *routeCtx {
	return &routeCtx{g: g, vs: vs, spec: vs.Spec.(*networking.VirtualService), port: port, gateway: gateway}
}

// fail turns a policyErr into a FieldError of the VirtualService.
func (rc *routeCtx) fail(err error) error {
	var pe *policyErr
	if errors.As(err, &pe) {
		return fieldErr(rc.vs, pe.path, "%s", pe.reason)
	}
	return err
}

// httpRoutes translates spec.http into Envoy routes, one per applicable match, in
// order. A route without matches takes every request, so the routes after it are
// unreachable and, as in Istio, not generated.
func (rc *routeCtx) httpRoutes() ([]*routev3.Route, error) {
	var out []*routev3.Route
	for i, h := range rc.spec.GetHttp() {
		path := fmt.Sprintf("spec.http[%d]", i)
		tmpl, err := rc.routeTemplate(h, path)
		if err != nil {
			return nil, rc.fail(err)
		}
		if len(h.GetMatch()) == 0 {
			r := proto.Clone(tmpl).(*routev3.Route)
			r.Name = h.GetName()
			r.Match = &routev3.RouteMatch{PathSpecifier: &routev3.RouteMatch_Prefix{Prefix: "/"}}
			return append(out, r), nil
		}
		all := false
		for j, m := range h.GetMatch() {
			if !rc.applies(m) {
				continue
			}
			rm, err := routeMatch(m, fmt.Sprintf("%s.match[%d]", path, j))
			if err != nil {
				return nil, rc.fail(err)
			}
			r := proto.Clone(tmpl).(*routev3.Route)
			r.Name, r.Match = routeName(h.GetName(), m.GetName()), rm
			out = append(out, r)
			all = all || catchAll(rm)
		}
		if all {
			break
		}
	}
	return out, nil
}

func routeName(route, match string) string {
	switch {
	case route == "":
		return match
	case match == "":
		return route
	}
	return route + "." + match
}

// routeTemplate translates everything of an HTTP route but its matches.
func (rc *routeCtx) routeTemplate(h *networking.HTTPRoute, path string) (*routev3.Route, error) {
	r := &routev3.Route{}
	var err error
	switch {
	case h.GetRedirect() != nil:
		if len(h.GetRoute()) > 0 || h.GetDirectResponse() != nil {
			return nil, &policyErr{path + ".redirect", "a route has one of route, redirect or directResponse"}
		}
		r.Action, err = redirectAction(h.GetRedirect(), path+".redirect")
	case h.GetDirectResponse() != nil:
		if len(h.GetRoute()) > 0 {
			return nil, &policyErr{path + ".directResponse", "a route has one of route, redirect or directResponse"}
		}
		r.Action = directResponse(h.GetDirectResponse())
	case len(h.GetRoute()) > 0:
		var act *routev3.RouteAction
		var dests []dest
		act, dests, err = rc.routeAction(h, path)
		r.Action = &routev3.Route_Route{Route: act}
		if err == nil && len(dests) == 1 {
			err = applyHeaders(r, dests[0].headers, dests[0].path+".headers")
		}
	default:
		return nil, &policyErr{path, "one of route, redirect or directResponse is required"}
	}
	if err != nil {
		return nil, err
	}
	if err := applyHeaders(r, h.GetHeaders(), path+".headers"); err != nil {
		return nil, err
	}
	if f := h.GetFault(); f != nil {
		cfg, err := faultConfig(f, path+".fault")
		if err != nil {
			return nil, err
		}
		r.TypedPerFilterConfig = map[string]*anypb.Any{faultFilter: cfg}
	}
	return r, nil
}

// routeAction translates the forwarding part of an HTTP route.
func (rc *routeCtx) routeAction(h *networking.HTTPRoute, path string) (*routev3.RouteAction, []dest, error) {
	act := &routev3.RouteAction{Timeout: dur(0)}
	if h.GetTimeout() != nil {
		act.Timeout = h.GetTimeout()
	}
	dests, err := rc.destinations(h.GetRoute(), path)
	if err != nil {
		return nil, nil, err
	}
	if err := setClusters(act, dests); err != nil {
		return nil, nil, err
	}
	if err := applyRewrite(act, h.GetRewrite(), path+".rewrite"); err != nil {
		return nil, nil, err
	}
	act.HashPolicy = rc.hashPolicy(dests)
	if act.RetryPolicy, err = retryPolicy(h.GetRetries(), len(act.HashPolicy) > 0, path+".retries"); err != nil {
		return nil, nil, err
	}
	if act.RequestMirrorPolicies, err = rc.mirrors(h, path); err != nil {
		return nil, nil, err
	}
	return act, dests, nil
}

// dest is a resolved route destination.
type dest struct {
	cluster string
	svc     *mesh.Service // nil when the host is not a visible service
	port    uint32
	subset  string
	weight  uint32
	headers *networking.Headers
	path    string
}

// destinations resolves spec.http[i].route, dropping zero-weight destinations when
// others carry weight, as Istio does.
func (rc *routeCtx) destinations(rds []*networking.HTTPRouteDestination, path string) ([]dest, error) {
	var out []dest
	var total int64
	for i, rd := range rds {
		p := fmt.Sprintf("%s.route[%d]", path, i)
		if rd.GetWeight() < 0 {
			return nil, &policyErr{p + ".weight", "must not be negative"}
		}
		d, err := rc.destination(rd.GetDestination(), p+".destination")
		if err != nil {
			return nil, err
		}
		d.weight, d.headers, d.path = uint32(rd.GetWeight()), rd.GetHeaders(), p
		total += int64(d.weight)
		out = append(out, d)
	}
	if len(out) == 1 {
		return out, nil
	}
	if total == 0 {
		return nil, &policyErr{path + ".route", "several destinations need weights"}
	}
	kept := out[:0]
	for _, d := range out {
		if d.weight > 0 {
			kept = append(kept, d)
		}
	}
	return kept, nil
}

// destination resolves an Istio destination to its cluster. Without a port, the
// service's only port is used, else the listener's port.
func (rc *routeCtx) destination(d *networking.Destination, path string) (dest, error) {
	if d.GetHost() == "" {
		return dest{}, &policyErr{path + ".host", "required"}
	}
	host := rc.g.resolveHost(d.GetHost(), rc.vs.Namespace)
	svc := rc.g.sc.service(host)
	port := d.GetPort().GetNumber()
	if port == 0 {
		switch {
		case svc != nil && len(svc.Ports) == 1:
			port = svc.Ports[0].Number
		case svc == nil || hasPort(svc, rc.port):
			port = rc.port
		default:
			return dest{}, &policyErr{path + ".port", fmt.Sprintf("required: %s has several ports", host)}
		}
	}
	return dest{cluster: outboundCluster(port, d.GetSubset(), host), svc: svc, port: port, subset: d.GetSubset()}, nil
}

func hasPort(svc *mesh.Service, port uint32) bool {
	_, ok := svc.Port(port)
	return ok
}

// setClusters points the action at one cluster, or at weighted clusters with their
// per-destination headers.
func setClusters(act *routev3.RouteAction, dests []dest) error {
	if len(dests) == 1 {
		act.ClusterSpecifier = &routev3.RouteAction_Cluster{Cluster: dests[0].cluster}
		return nil
	}
	wc := &routev3.WeightedCluster{}
	for _, d := range dests {
		cw := &routev3.WeightedCluster_ClusterWeight{Name: d.cluster, Weight: u32(d.weight)}
		ops, err := headerOps(d.headers, d.path+".headers")
		if err != nil {
			return err
		}
		if ops.authority != "" {
			cw.HostRewriteSpecifier = &routev3.WeightedCluster_ClusterWeight_HostRewriteLiteral{HostRewriteLiteral: ops.authority}
		}
		cw.RequestHeadersToAdd, cw.RequestHeadersToRemove = ops.reqAdd, ops.reqRemove
		cw.ResponseHeadersToAdd, cw.ResponseHeadersToRemove = ops.respAdd, ops.respRemove
		wc.Clusters = append(wc.Clusters, cw)
	}
	act.ClusterSpecifier = &routev3.RouteAction_WeightedClusters{WeightedClusters: wc}
	return nil
}

func redirectAction(r *networking.HTTPRedirect, path string) (*routev3.Route_Redirect, error) {
	ra := &routev3.RedirectAction{HostRedirect: r.GetAuthority(), PortRedirect: r.GetPort()}
	switch {
	case r.GetUri() != "" && r.GetPrefixRewrite() != "":
		return nil, &policyErr{path, "uri and prefixRewrite exclude each other"}
	case r.GetUri() != "":
		ra.PathRewriteSpecifier = &routev3.RedirectAction_PathRedirect{PathRedirect: r.GetUri()}
	case r.GetPrefixRewrite() != "":
		ra.PathRewriteSpecifier = &routev3.RedirectAction_PrefixRewrite{PrefixRewrite: r.GetPrefixRewrite()}
	}
	if r.GetScheme() != "" {
		ra.SchemeRewriteSpecifier = &routev3.RedirectAction_SchemeRedirect{SchemeRedirect: r.GetScheme()}
	}
	switch r.GetRedirectCode() {
	case 0, 301:
		ra.ResponseCode = routev3.RedirectAction_MOVED_PERMANENTLY
	case 302:
		ra.ResponseCode = routev3.RedirectAction_FOUND
	case 303:
		ra.ResponseCode = routev3.RedirectAction_SEE_OTHER
	case 307:
		ra.ResponseCode = routev3.RedirectAction_TEMPORARY_REDIRECT
	case 308:
		ra.ResponseCode = routev3.RedirectAction_PERMANENT_REDIRECT
	default:
		return nil, &policyErr{path + ".redirectCode", fmt.Sprintf("%d is not a redirect Envoy can send (301, 302, 303, 307, 308)", r.GetRedirectCode())}
	}
	return &routev3.Route_Redirect{Redirect: ra}, nil
}

func directResponse(d *networking.HTTPDirectResponse) *routev3.Route_DirectResponse {
	dr := &routev3.DirectResponseAction{Status: d.GetStatus()}
	switch d.GetBody().GetSpecifier().(type) {
	case *networking.HTTPBody_String_:
		dr.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: d.GetBody().GetString_()}}
	case *networking.HTTPBody_Bytes:
		dr.Body = &corev3.DataSource{Specifier: &corev3.DataSource_InlineBytes{InlineBytes: d.GetBody().GetBytes()}}
	}
	return &routev3.Route_DirectResponse{DirectResponse: dr}
}
