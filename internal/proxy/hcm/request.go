package hcm

import (
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
)

// prepareRequest sets the headers Envoy's connection manager sets on every request:
// :scheme, x-forwarded-for and -proto, x-request-id and via; and the downstream
// client address used by logs and policies.
func (m *Manager) prepareRequest(s *httpfilter.Stream, c *netfilter.Conn) {
	h := &s.Request
	scheme := "http"
	if s.TLS {
		scheme = "https"
	}
	if !h.Has(header.Scheme) {
		h.Add(header.Scheme, scheme)
	}
	remote := c.Downstream.DirectRemoteAddress
	s.Info.Downstream.RemoteAddress = remote
	xff, hasXFF := h.Lookup("x-forwarded-for")
	if m.useRemoteAddress {
		if !m.skipXffAppend && remote.IsValid() {
			ip := remote.Addr().String()
			if hasXFF {
				h.Set("x-forwarded-for", xff+","+ip)
			} else {
				h.Add("x-forwarded-for", ip)
			}
		}
		h.Set("x-forwarded-proto", scheme)
	} else {
		if hasXFF {
			if a, ok := clientFromXFF(xff, m.xffTrustedHops); ok {
				s.Info.Downstream.RemoteAddress = netip.AddrPortFrom(a, 0)
			}
		}
		h.SetDefault("x-forwarded-proto", scheme)
	}
	if m.generateRequestID && !h.Has("x-request-id") {
		h.Add("x-request-id", newRequestID())
	}
	if m.via != "" {
		if v, ok := h.Lookup("via"); ok {
			h.Set("via", v+", "+m.via)
		} else {
			h.Add("via", m.via)
		}
	}
}

// clientFromXFF returns the address hops places from the right of x-forwarded-for, as
// Envoy picks the client when it does not use the remote address itself.
func clientFromXFF(xff string, hops int) (netip.Addr, bool) {
	for i := 0; ; i++ {
		j := strings.LastIndexByte(xff, ',')
		part := strings.TrimSpace(xff[j+1:])
		if i == hops {
			a, err := netip.ParseAddr(part)
			return a, err == nil
		}
		if j < 0 {
			return netip.Addr{}, false
		}
		xff = xff[:j]
	}
}

// newRequestID returns a random UUID (version 4) string.
func newRequestID() string {
	var b [16]byte
	lo, hi := rand.Uint64(), rand.Uint64()
	for i := 0; i < 8; i++ {
		b[i] = byte(lo >> (8 * i))
		b[8+i] = byte(hi >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var out [36]byte
	hex.Encode(out[0:8], b[0:4])
	out[8] = '-'
	hex.Encode(out[9:13], b[4:6])
	out[13] = '-'
	hex.Encode(out[14:18], b[6:8])
	out[18] = '-'
	hex.Encode(out[19:23], b[8:10])
	out[23] = '-'
	hex.Encode(out[24:], b[10:])
	return string(out[:])
}
