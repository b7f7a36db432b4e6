package router

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/cespare/xxhash/v2"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// hashRequest computes the request's hash from the route's hash policies, combining
// several as Envoy does (rotate left one bit, then xor). A cookie policy with a TTL
// whose cookie is missing generates one; setCookie is then the Set-Cookie value to send.
func hashRequest(policies []route.HashPolicy, s *httpfilter.Stream) (hash uint64, have bool, setCookie string) {
	for i := range policies {
		p := &policies[i]
		v, ok := hashInput(p, s)
		if !ok && p.Kind == route.HashCookie && p.CookieTTL != nil {
			v = generateCookie(p, s)
			setCookie = makeSetCookie(p, v)
			ok = true
		}
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
	return hash, have, setCookie
}

// generateCookie derives a cookie value from the downstream connection's addresses, as
// Envoy does, so that requests racing on one connection get the same cookie.
func generateCookie(p *route.HashPolicy, s *httpfilter.Stream) string {
	d := &s.Info.Downstream
	return strconv.FormatUint(xxhash.Sum64String(d.DirectRemoteAddress.String()+d.LocalAddress.String()), 16)
}

// makeSetCookie formats the Set-Cookie value for a generated affinity cookie.
func makeSetCookie(p *route.HashPolicy, value string) string {
	var b strings.Builder
	b.WriteString(p.Name)
	b.WriteString(`="`)
	b.WriteString(value)
	b.WriteByte('"')
	if ttl := *p.CookieTTL; ttl > 0 {
		b.WriteString("; Max-Age=")
		b.WriteString(strconv.FormatInt(int64(ttl/time.Second), 10))
	}
	if p.CookiePath != "" {
		b.WriteString("; Path=")
		b.WriteString(p.CookiePath)
	}
	b.WriteString("; HttpOnly")
	return b.String()
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
