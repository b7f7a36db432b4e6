package hcm

import (
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"slices"
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
	// Internal or external origin, decided before x-forwarded-for is appended to.
	internal := internalOrigin(m.useRemoteAddress, remote, xff, hasXFF)
	edge := !internal && m.useRemoteAddress
	if internal {
		h.Set("x-envoy-internal", "true")
	} else {
		m.cleanInternalHeaders(h, edge)
	}
	if m.useRemoteAddress {
		// With trusted hops in front, the client is the Nth address from the right of
		// x-forwarded-for (before weft appends to it), as in Envoy.
		if m.xffTrustedHops > 0 && hasXFF {
			if a, ok := clientFromXFF(xff, m.xffTrustedHops-1); ok {
				s.Info.Downstream.RemoteAddress = netip.AddrPortFrom(a, 0)
			}
		}
		if edge && s.Info.Downstream.RemoteAddress.IsValid() {
			h.Set("x-envoy-external-address", s.Info.Downstream.RemoteAddress.Addr().String())
		}
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
	switch {
	case !m.generateRequestID:
	case !h.Has("x-request-id"):
		h.Add("x-request-id", newRequestID())
	case edge && !m.preserveExternalID:
		h.Set("x-request-id", newRequestID()) // an outside client does not choose its request ID
	}
	if m.via != "" {
		if v, ok := h.Lookup("via"); ok {
			h.Set("via", v+", "+m.via)
		} else {
			h.Add("via", m.via)
		}
	}
}

// internalOrigin tells, as Envoy does, whether a request comes from inside the
// network: with use_remote_address, when it carries no x-forwarded-for and its
// connection comes from an internal address; otherwise, when x-forwarded-for holds
// exactly one address and that address is internal. Internal addresses are RFC 1918,
// RFC 4193 and loopback.
func internalOrigin(useRemote bool, remote netip.AddrPort, xff string, hasXFF bool) bool {
	if useRemote {
		return !hasXFF && isInternal(remote.Addr())
	}
	if !hasXFF || strings.IndexByte(xff, ',') >= 0 {
		return false
	}
	a, err := netip.ParseAddr(strings.TrimSpace(xff))
	return err == nil && isInternal(a)
}

func isInternal(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && (a.IsPrivate() || a.IsLoopback())
}

// edgeOnlyHeaders are the request headers that change how weft routes, retries and
// times a request; a client at the edge (an external request on a connection manager
// with use_remote_address) may not set them, as in Envoy.
var edgeOnlyHeaders = map[string]bool{
	"x-envoy-retriable-status-codes": true, "x-envoy-retriable-header-names": true, "x-envoy-retry-on": true,
	"x-envoy-retry-grpc-on": true, "x-envoy-max-retries": true, "x-envoy-upstream-alt-stat-name": true,
	"x-envoy-upstream-rq-timeout-ms": true, "x-envoy-upstream-rq-per-try-timeout-ms": true,
	"x-envoy-upstream-rq-timeout-alt-response": true, "x-envoy-expected-rq-timeout-ms": true,
	"x-envoy-force-trace": true, "x-envoy-ip-tags": true, "x-envoy-original-url": true,
	"x-envoy-hedge-on-per-try-timeout": true,
}

// cleanInternalHeaders removes from an external request what only the inside may say:
// x-envoy-internal, the caller's identity headers, the route table's
// internal_only_headers, and at the edge the headers of edgeOnlyHeaders. Requests
// without x-envoy- headers or internal-only ones cost one pass over the names.
func (m *Manager) cleanInternalHeaders(h *header.Map, edge bool) {
	var internalOnly []string
	if t := m.table(); t != nil {
		internalOnly = t.InternalOnlyHeaders()
	}
	drop := false
	for _, f := range h.Fields() {
		if strings.HasPrefix(f.Name, "x-envoy-") || (len(internalOnly) > 0 && slices.Contains(internalOnly, f.Name)) {
			drop = true
			break
		}
	}
	if !drop {
		return
	}
	h.DelFunc(func(f header.Field) bool {
		switch f.Name {
		case "x-envoy-internal", "x-envoy-downstream-service-cluster", "x-envoy-downstream-service-node",
			"x-envoy-decorator-operation":
			return true
		}
		return (edge && edgeOnlyHeaders[f.Name]) || slices.Contains(internalOnly, f.Name)
	})
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
