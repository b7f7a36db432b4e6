package listener

import (
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"time"

	"github.com/weftmesh/weft/internal/proxy/listener/inspect"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// maxPeek bounds the bytes listener filters may read before a chain is chosen.
const maxPeek = 64 << 10

// accepted is a connection on its way through listener filters.
type accepted struct {
	conn  net.Conn
	peek  []byte
	facts connFacts
	down  streaminfo.Downstream
	// redirected is set once original_dst found a destination.
	redirected bool
}

// serve runs a new connection through the listener filters, hands it to the listener
// for its original destination when asked, and serves it with the matching chain.
func (l *Listener) serve(c net.Conn) {
	defer l.untrack(c)
	defer c.Close()
	a := &accepted{conn: c}
	a.down.ConnectionID = l.m.connID.Add(1)
	a.down.DirectRemoteAddress = tcpAddr(c.RemoteAddr())
	a.down.RemoteAddress = a.down.DirectRemoteAddress
	a.down.LocalAddress = tcpAddr(c.LocalAddr())
	target := l
	st := l.settings.Load()
	if !l.inspect(a, st) {
		return
	}
	if st.useOriginalDst && a.redirected {
		if t := l.m.forOriginalDst(a.down.LocalAddress); t != nil && t != l {
			target = t
			st = t.settings.Load()
			if !t.inspect(a, st) {
				return
			}
		}
	}
	target.serveChain(a, st)
}

// inspect runs the listener filters; false means the connection is to be dropped.
func (l *Listener) inspect(a *accepted, st *settings) bool {
	l.stats.preCxActive.Inc()
	defer l.stats.preCxActive.Dec()
	deadline := time.Now().Add(st.inspectTimeout)
	for _, k := range st.inspectors {
		var ok bool
		switch k {
		case inspectOriginalDst:
			if dst, found := originalDst(a.conn); found {
				a.down.LocalAddress, a.redirected = dst, true
			}
			ok = true
		case inspectTLS:
			ok = l.peekUntil(a, deadline, st, inspectTLSHello)
		case inspectHTTP:
			ok = l.peekUntil(a, deadline, st, inspectHTTPProto)
		}
		if !ok {
			return false
		}
	}
	return true
}

// inspectTLSHello records SNI, ALPN and "tls" from a ClientHello; it reports whether
// more bytes could change the outcome.
func inspectTLSHello(a *accepted) (needMore bool) {
	if a.facts.transport != "" {
		return false
	}
	h, err := inspect.ParseClientHello(a.peek)
	switch {
	case errors.Is(err, inspect.ErrNeedMore):
		return true
	case err != nil:
		a.facts.transport = "raw_buffer"
	default:
		a.facts.transport = "tls"
		a.facts.serverName = h.ServerName
		a.facts.alpn = h.ALPN
		a.down.RequestedServerName = h.ServerName
	}
	return false
}

// inspectHTTPProto records "http/1.1", "http/1.0" or "h2c" for plaintext HTTP.
func inspectHTTPProto(a *accepted) (needMore bool) {
	if a.facts.transport == "tls" || len(a.facts.alpn) > 0 {
		return false
	}
	proto, more := inspect.DetectHTTP(a.peek)
	if more {
		return true
	}
	if proto != "" {
		a.facts.alpn = []string{proto}
	}
	return false
}

// peekUntil reads bytes until the inspector is satisfied, the connection has no more,
// or the listener-filter timeout fires. false means drop the connection.
func (l *Listener) peekUntil(a *accepted, deadline time.Time, st *settings, inspectFn func(*accepted) bool) bool {
	for inspectFn(a) {
		if len(a.peek) >= maxPeek {
			break
		}
		a.conn.SetReadDeadline(deadline)
		buf := make([]byte, 4096)
		n, err := a.conn.Read(buf)
		a.peek = append(a.peek, buf[:n]...)
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			l.stats.preCxTimeout.Inc()
			if !st.continueOnTO {
				return false
			}
		} else if len(a.peek) == 0 {
			l.stats.filterRemoteClose.Inc()
			return false
		}
		break
	}
	a.conn.SetReadDeadline(time.Time{})
	return true
}

// serveChain matches a filter chain, terminates TLS if it says so and runs its filters.
func (l *Listener) serveChain(a *accepted, st *settings) {
	a.facts.dest = a.down.LocalAddress
	a.facts.source = a.down.RemoteAddress
	a.facts.directSource = a.down.DirectRemoteAddress
	chain := selectChain(st.chains, &a.facts)
	if chain == nil {
		chain = st.defaultChain
	}
	if chain == nil {
		l.stats.noChain.Inc()
		return
	}
	a.down.ListenerName = l.name
	l.stats.cxTotal.Inc()
	l.stats.cxActive.Inc()
	start := time.Now()
	defer func() {
		l.stats.cxActive.Dec()
		l.stats.cxDestroy.Inc()
		l.stats.cxLengthMs.Record(uint64(time.Since(start).Milliseconds()))
	}()
	nc := &netfilter.Conn{Conn: netfilter.WithPrefix(a.conn, a.peek), Downstream: a.down, Drain: st.drain}
	if len(a.facts.alpn) == 1 && a.facts.transport != "tls" {
		nc.ALPN = a.facts.alpn[0]
	}
	if chain.tls != nil && !l.terminateTLS(nc, chain) {
		return
	}
	l.serving(a.conn, nc)
	chain.handler.ServeConn(l.m.ctx, nc)
}

// terminateTLS runs the server handshake; false means it failed.
func (l *Listener) terminateTLS(nc *netfilter.Conn, chain *filterChain) bool {
	tc := tls.Server(nc.Conn, chain.tls)
	tc.SetDeadline(time.Now().Add(10 * time.Second))
	if err := tc.Handshake(); err != nil {
		l.stats.sslError.Inc()
		return false
	}
	tc.SetDeadline(time.Time{})
	l.stats.sslHandshake.Inc()
	cs := tc.ConnectionState()
	info := &streaminfo.TLSInfo{Version: tls.VersionName(cs.Version), CipherSuite: tls.CipherSuiteName(cs.CipherSuite), ALPN: cs.NegotiatedProtocol}
	if len(cs.PeerCertificates) > 0 {
		info.PeerCert = cs.PeerCertificates[0]
	}
	nc.Conn = tc
	nc.Downstream.TLS = info
	nc.Downstream.RequestedServerName = cs.ServerName
	nc.ALPN = cs.NegotiatedProtocol
	return true
}

func tcpAddr(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		ap := ta.AddrPort()
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	}
	return netip.AddrPort{}
}
