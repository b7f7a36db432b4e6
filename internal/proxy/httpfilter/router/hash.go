package router

import (
	"net/http"
	"strings"

	"github.com/cespare/xxhash/v2"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// hashRequest computes the request's hash from the route's hash policies, combining
// several as Envoy does (rotate left one bit, then xor).
func hashRequest(policies []route.HashPolicy, s *httpfilter.Stream) (uint64, bool) {
	var hash uint64
	have := false
	for i := range policies {
		p := &policies[i]
		v, ok := hashInput(p, s)
		if !ok {
			continue
		}
		h := xxhash.Sum64String(v)
		if have {
			hash = (hash<<1 | hash>>63) ^ h
		} else {
			hash = h
		}
		have = true
		if p.Terminal {
			break
		}
	}
	return hash, have
}

func hashInput(p *route.HashPolicy, s *httpfilter.Stream) (string, bool) {
	switch p.Kind {
	case route.HashHeader:
		v, ok := s.Request.Joined(p.Name)
		if ok && p.HeaderRewrite != nil {
			v = p.HeaderRewrite.ReplaceAll(v)
		}
		return v, ok
	case route.HashCookie:
		return cookie(&s.Request, p.Name)
	case route.HashSourceIP:
		a := s.Info.Downstream.DirectRemoteAddress
		if !a.IsValid() {
			return "", false
		}
		return a.Addr().String(), true
	case route.HashQueryParameter:
		return queryParam(s.Request.Get(header.Path), p.Name)
	}
	return "", false
}

func cookie(h *header.Map, name string) (string, bool) {
	for _, f := range h.Fields() {
		if f.Name != "cookie" {
			continue
		}
		for _, c := range (&http.Request{Header: http.Header{"Cookie": {f.Value}}}).Cookies() {
			if c.Name == name {
				return c.Value, true
			}
		}
	}
	return "", false
}

func queryParam(path, name string) (string, bool) {
	_, q, ok := strings.Cut(path, "?")
	if !ok {
		return "", false
	}
	for q != "" {
		var kv string
		kv, q, _ = strings.Cut(q, "&")
		k, v, _ := strings.Cut(kv, "=")
		if k == name {
			return v, true
		}
	}
	return "", false
}
