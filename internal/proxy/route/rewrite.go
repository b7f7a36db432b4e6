package route

import (
	"github.com/weftmesh/weft/internal/proxy/header"
)

// OriginalPathHeader keeps the request's path from before a rewrite.
const OriginalPathHeader = "x-envoy-original-path"

// rewriteHost applies the route's host rewrite, if any.
func (act *routeAction) rewriteHost(req *header.Map) {
	switch {
	case act.hostLiteral != "":
		setAuthority(req, act.hostLiteral, act.appendXFH)
	case act.hostHeader != "":
		// Only the first value counts: the header is untrusted input.
		if v := req.Get(act.hostHeader); v != "" {
			setAuthority(req, v, act.appendXFH)
		}
	case act.hostPathRegex != nil:
		path := stripQuery(req.Get(header.Path))
		setAuthority(req, act.hostPathRegex.ReplaceAll(path), act.appendXFH)
	}
}

// setAuthority replaces :authority, first appending the old value to x-forwarded-host
// when appendXFH is set.
func setAuthority(req *header.Map, host string, appendXFH bool) {
	if appendXFH {
		if old := req.Get(header.Authority); old != "" {
			if xfh, ok := req.Lookup("x-forwarded-host"); ok && xfh != "" {
				req.Set("x-forwarded-host", xfh+","+old)
			} else {
				req.Set("x-forwarded-host", old)
			}
		}
	}
	req.Set(header.Authority, host)
}

// rewritePath applies a prefix or regex rewrite to :path, keeping the query string and
// recording the original path in x-envoy-original-path.
func rewritePath(req *header.Map, m *routeMatch, prefix *string, re *RegexRewrite) {
	path := req.Get(header.Path)
	var next string
	switch {
	case prefix != nil:
		n := m.matchedLength(path)
		if n > len(path) {
			n = len(path)
		}
		next = *prefix + path[n:]
	case re != nil:
		just := stripQuery(path)
		next = re.ReplaceAll(just) + path[len(just):]
	default:
		return
	}
	req.Set(OriginalPathHeader, path)
	req.Set(header.Path, next)
}
