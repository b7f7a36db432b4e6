package route

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// redirect is a compiled RedirectAction, or the redirect require_tls makes.
type redirect struct {
	code          int
	scheme        string // scheme_redirect, or "https" for https_redirect
	host          string
	port          string // ":port", or ""
	path          string
	pathHasQuery  bool
	prefixRewrite *string
	regexRewrite  *RegexRewrite
	stripQuery    bool
	sslRedirect   bool // the require_tls redirect: https://<host><path>
}

// directResponse is a compiled DirectResponseAction.
type directResponse struct {
	code int
	body string
}

var redirectCodes = map[routev3.RedirectAction_RedirectResponseCode]int{
	routev3.RedirectAction_MOVED_PERMANENTLY:  301,
	routev3.RedirectAction_FOUND:              302,
	routev3.RedirectAction_SEE_OTHER:          303,
	routev3.RedirectAction_TEMPORARY_REDIRECT: 307,
	routev3.RedirectAction_PERMANENT_REDIRECT: 308,
}

func compileRedirect(ra *routev3.RedirectAction) (*redirect, error) {
	code, ok := redirectCodes[ra.GetResponseCode()]
	if !ok {
		return nil, at("response_code", fmt.Errorf("unknown response code %v", ra.GetResponseCode()))
	}
	r := &redirect{code: code, host: ra.GetHostRedirect(), stripQuery: ra.GetStripQuery()}
	if ra.GetHttpsRedirect() {
		r.scheme = "https"
	} else if s := ra.GetSchemeRedirect(); s != "" {
		r.scheme = strings.ToLower(s)
	}
	if p := ra.GetPortRedirect(); p != 0 {
		r.port = ":" + strconv.FormatUint(uint64(p), 10)
	}
	switch p := ra.GetPathRewriteSpecifier().(type) {
	case *routev3.RedirectAction_PathRedirect:
		r.path, r.pathHasQuery = p.PathRedirect, strings.Contains(p.PathRedirect, "?")
	case *routev3.RedirectAction_PrefixRewrite:
		v := p.PrefixRewrite
		r.prefixRewrite = &v
	case *routev3.RedirectAction_RegexRewrite:
		re, err := compileRegexRewrite(p.RegexRewrite)
		if err != nil {
			return nil, at("regex_rewrite", err)
		}
		r.regexRewrite = re
	}
	return r, nil
}

func compileDirectResponse(d *routev3.DirectResponseAction, maxBody int) (*directResponse, error) {
	if d.GetStatus() < 200 || d.GetStatus() >= 600 {
		return nil, at("status", fmt.Errorf("status %d is outside [200, 600)", d.GetStatus()))
	}
	dr := &directResponse{code: int(d.GetStatus())}
	if b := d.GetBody(); b != nil {
		switch s := b.GetSpecifier().(type) {
		case *corev3.DataSource_InlineString:
			dr.body = s.InlineString
		case *corev3.DataSource_InlineBytes:
			dr.body = string(s.InlineBytes)
		default:
			return nil, at("body", errors.New("only inline_string and inline_bytes bodies are supported"))
		}
	}
	if len(dr.body) > maxBody {
		return nil, at("body", fmt.Errorf("body is %d bytes, more than max_direct_response_body_size_bytes (%d)", len(dr.body), maxBody))
	}
	return dr, nil
}

// ResponseCode returns the status of a redirect or direct response, and 0 for a route
// that forwards.
func (e *Entry) ResponseCode() int {
	switch {
	case e.rule.redirect != nil:
		return e.rule.redirect.code
	case e.rule.direct != nil:
		return e.rule.direct.code
	}
	return 0
}

// ResponseBody returns a direct response's body.
func (e *Entry) ResponseBody() string {
	if e.rule.direct == nil {
		return ""
	}
	return e.rule.direct.body
}

// RewriteRedirectPath applies a redirect's prefix_rewrite or regex_rewrite to :path
// before NewURI reads it, keeping the original in x-envoy-original-path. It does
// nothing for other routes.
func (e *Entry) RewriteRedirectPath(req *header.Map) {
	r := e.rule.redirect
	if r == nil || (r.prefixRewrite == nil && r.regexRewrite == nil) {
		return
	}
	rewritePath(req, &e.rule.match, r.prefixRewrite, r.regexRewrite)
}

// NewURI returns the URI a redirect points to, built from the request and the
// redirect's scheme, host, port and path settings. For a direct response it is the
// request's own URI, and "" for a route that forwards.
func (e *Entry) NewURI(req *header.Map) string {
	r := e.rule.redirect
	if r == nil {
		if e.rule.direct == nil {
			return ""
		}
		r = &redirect{}
	}
	if r.sslRedirect {
		return "https://" + req.Get(header.Authority) + req.Get(header.Path)
	}
	scheme := r.scheme
	if scheme == "" {
		scheme = requestScheme(req)
	}
	host := r.host
	if host == "" {
		host = redirectHost(req, scheme, r.port)
	}
	return scheme + "://" + host + r.port + r.finalPath(req.Get(header.Path))
}

func (r *redirect) finalPath(path string) string {
	if r.path != "" {
		if r.pathHasQuery {
			return ensureSlash(r.path)
		}
		if i := strings.IndexByte(path, '?'); i >= 0 && !r.stripQuery {
			return ensureSlash(r.path + path[i:])
		}
		return ensureSlash(r.path)
	}
	path = ensureSlash(path)
	if r.stripQuery {
		if i := strings.IndexByte(path, '?'); i >= 0 {
			path = path[:i]
		}
	}
	return path
}

func ensureSlash(p string) string {
	if strings.HasPrefix(p, "/") {
		return p
	}
	return "/" + p
}

// requestScheme is the scheme of the original URL: :scheme, else x-forwarded-proto.
func requestScheme(req *header.Map) string {
	if s := req.Get(header.Scheme); s != "" {
		return s
	}
	return req.Get("x-forwarded-proto")
}

// redirectHost returns the request's host for a redirect: its port is dropped when the
// redirect sets a port, or when the scheme changes and the port is the old scheme's
// default.
func redirectHost(req *header.Map, scheme, newPort string) string {
	host := req.Get(header.Authority)
	i := portStart(host)
	if i < 0 {
		return host
	}
	port := host[i:]
	proto := req.Get("x-forwarded-proto")
	drop := newPort != ""
	if scheme != proto {
		drop = drop || proto == "https" && port == ":443" || proto == "http" && port == ":80"
	}
	if drop {
		return host[:i]
	}
	return host
}

// Reply is a response the proxy makes itself for a redirect or direct-response route.
type Reply struct {
	Status  int
	Headers header.Map
	Body    string
}

// LocalReply builds the response for a redirect or direct-response route as Envoy's
// router does: it applies the redirect's path rewrite to req, sets location for 201
// and 3xx statuses, applies the route's response headers, then sets content-length
// and, when absent, content-type text/plain for a non-empty body, or removes both for
// an empty one. It returns false for a route that forwards.
func (e *Entry) LocalReply(req *header.Map, info *streaminfo.Info) (Reply, bool) {
	code := e.ResponseCode()
	if code == 0 {
		return Reply{}, false
	}
	e.RewriteRedirectPath(req)
	r := Reply{Status: code, Body: e.ResponseBody()}
	r.Headers.Add(header.Status, strconv.Itoa(code))
	if code == 201 || code >= 300 && code < 400 {
		if req.Get(header.Path) != "" {
			r.Headers.Add("location", e.NewURI(req))
		}
	}
	e.FinalizeResponse(&r.Headers, info)
	if r.Body == "" {
		r.Headers.Del("content-length")
		r.Headers.Del("content-type")
		return r, true
	}
	r.Headers.Set("content-length", strconv.Itoa(len(r.Body)))
	r.Headers.SetDefault("content-type", "text/plain")
	return r, true
}
