package hcm

import (
	"context"
	"errors"
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/http1"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// maxDrainBody is how much of an unread request body is discarded to keep the
// connection alive after a response that did not read it.
const maxDrainBody = 64 << 10

// h1conn is one downstream HTTP/1 connection. It is also the stream's ResponseWriter.
type h1conn struct {
	m    *Manager
	c    *netfilter.Conn
	r    *http1.Reader
	w    *http1.Writer
	s    httpfilter.Stream
	head http1.Head
	body h1body

	start    time.Time
	deadline time.Time // the read deadline currently set
	requests int
	closing  bool // close after the current response
	noBody   bool // the response must not carry a body (HEAD)
	upgraded bool
	aborted  bool
	// responded is set once the whole response has been flushed: a client that hangs up
	// after that has not cut anything short. The peer watch reads it.
	responded atomic.Bool
	abort     httpfilter.Abort // cancels the stream when its client goes away
	watch     *peerWatch
}

func (m *Manager) serveHTTP1(ctx context.Context, c *netfilter.Conn) {
	m.stats.CxHTTP1Total.Inc()
	m.stats.CxHTTP1Active.Inc()
	defer m.stats.CxHTTP1Active.Dec()
	hc := &h1conn{m: m, c: c, r: http1.NewReader(c.Conn), w: http1.NewWriter(c.Conn), start: time.Now()}
	hc.r.MaxHeaderBytes, hc.r.MaxHeaders = m.maxHeaderBytes, m.maxHeaders
	hc.watch = newPeerWatch(hc)
	for !hc.closing && !hc.aborted && !hc.upgraded {
		if !hc.serveOne(ctx) {
			break
		}
	}
	if hc.closing && !hc.aborted && !hc.upgraded {
		hc.delayedClose()
	}
}

// delayedClose ends a connection weft chose to close after a response, as Envoy's
// delayed_close_timeout (1 s; 0: off) does: it half-closes, then reads and discards
// what the client still sends until the client closes or the timeout passes. Closing at
// once with unread bytes in the socket would reset the connection, and a client that
// had sent more (a pipelined request, the rest of a body) could lose the response
// before it read it.
func (hc *h1conn) delayedClose() {
	d := hc.m.delayedClose
	cw, ok := hc.c.Conn.(interface{ CloseWrite() error })
	if d <= 0 || !ok || cw.CloseWrite() != nil {
		return
	}
	hc.c.SetReadDeadline(time.Now().Add(d))
	var buf [1024]byte
	for n := 0; n < maxDrainBody; {
		k, err := hc.c.Read(buf[:])
		n += k
		if err != nil {
			return
		}
	}
}

// serveOne reads and serves one request; false means the connection is done.
func (hc *h1conn) serveOne(ctx context.Context) bool {
	m := hc.m
	hc.idleDeadline()
	s := &hc.s
	hc.abort.Reset(ctx)
	s.Init(hc.abort.Context(), hc, m.encoders, m.server, m.rematchFn)
	s.SetAbort(&hc.abort)
	s.Info.Reset()
	idle := hc.r.Buffered() == 0
	if idle {
		hc.c.Idle.Store(true)
		if hc.draining() {
			return false
		}
	}
	var err error
	if m.headersTimeout > 0 {
		// request_headers_timeout runs from the request's first byte to its last header.
		if err = hc.r.Fill(); err == nil {
			hc.setDeadline(time.Now().Add(m.headersTimeout))
			err = hc.r.ReadRequest(&s.Request, &hc.head)
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() && hc.r.Buffered() > 0 {
			m.stats.RqHeaderTimeout.Inc()
			hc.replyUnparsed(408, 0, "request_header_timeout")
			return false
		}
		hc.idleDeadline()
	} else {
		err = hc.r.ReadRequest(&s.Request, &hc.head)
	}
	if idle {
		hc.c.Idle.Store(false)
	}
	if err != nil {
		return hc.readFailed(err)
	}
	hc.requests++
	hc.beginStream()
	m.startStream(&hc.abort)
	if !hc.admit() {
		hc.finish()
		return !hc.closing
	}
	if hc.body.Length() == 0 || hc.body.Buffered() {
		hc.watch.arm()
	}
	m.runStream(s, hc.c)
	if !s.HeadersSent() {
		m.unanswered(s)
	}
	hc.finish()
	return true
}

// setDeadline moves the connection's read deadline to want (zero: none). Shortening
// takes effect at once; lengthening only when it gains more than a second, so that
// keep-alive traffic does not pay a timer update per request.
func (hc *h1conn) setDeadline(want time.Time) {
	cur := hc.deadline
	switch {
	case want.IsZero() && cur.IsZero():
		return
	case want.IsZero(), cur.IsZero(), want.Before(cur), want.Sub(cur) > time.Second:
		hc.deadline = want
		hc.c.SetReadDeadline(want)
	}
}

// idleDeadline bounds the wait for the next request: the idle timeout and what is
// left of max_connection_duration.
func (hc *h1conn) idleDeadline() {
	now := time.Now()
	var want time.Time
	if d := hc.m.idleTimeout; d > 0 {
		want = now.Add(d)
	}
	if d := hc.m.maxConnDuration; d > 0 {
		if end := hc.start.Add(d); want.IsZero() || end.Before(want) {
			want = end
		}
	}
	hc.setDeadline(want)
}

// bodyDeadline bounds a request body read (see Manager.bodyDeadline).
func (hc *h1conn) bodyDeadline() {
	hc.setDeadline(hc.m.bodyDeadline(time.Now(), &hc.s))
}

// beginStream fills the stream's info and body for a request just read.
func (hc *h1conn) beginStream() {
	m, s := hc.m, &hc.s
	s.Info.Start = time.Now()
	hc.responded.Store(false)
	s.Info.Protocol = hc.head.Protocol()
	s.Info.Downstream = hc.c.Downstream
	s.TLS = hc.c.Downstream.TLS != nil
	s.HTTP2 = false
	m.stats.RqTotal.Inc()
	m.stats.RqHTTP1Total.Inc()
	m.stats.RqActive.Inc()
	hc.body.init(hc, hc.head.Body)
	s.Body = &hc.body
	hc.noBody = s.Request.Get(header.Method) == "HEAD"
	if !hc.head.KeepAlive {
		hc.closing = true
	}
	if hc.m.maxRequestsConn > 0 && hc.requests >= hc.m.maxRequestsConn {
		m.stats.CxMaxRequests.Inc()
		hc.closing = true
	}
	if m.maxConnDuration > 0 && time.Since(hc.start) > m.maxConnDuration {
		m.stats.CxMaxDuration.Inc()
		hc.closing = true
	}
}

// draining reports whether the listener is draining.
func (hc *h1conn) draining() bool {
	select {
	case <-hc.c.Drain:
		return true
	default:
		return false
	}
}

// admit applies the checks that come before the filters: HTTP/1.0, upgrades and
// expect: 100-continue. false means a local reply was sent.
func (hc *h1conn) admit() bool {
	m, s := hc.m, &hc.s
	if hc.head.Minor == 0 && !m.accept10 {
		s.SendLocalReply(426, "", streaminfo.DownstreamProtocolError, "low_version", nil)
		hc.closing = true
		return false
	}
	if hc.head.Minor == 0 && !s.Request.Has(header.Authority) {
		if m.default10Host == "" {
			s.SendLocalReply(400, "", streaminfo.DownstreamProtocolError, "missing_host_header", nil)
			hc.closing = true
			return false
		}
		s.Request.Add(header.Authority, m.default10Host)
	}
	if hc.head.Upgrade {
		connect := s.Request.Get(header.Method) == "CONNECT"
		if (connect && !m.connect) || (!connect && !(m.websocket && equalFold(s.Request.Get("upgrade"), "websocket"))) {
			m.stats.RqWsOnNonWs.Inc()
			s.SendLocalReply(403, "", 0, "upgrade_failed", nil)
			hc.closing = true
			return false
		}
	}
	if hc.head.ExpectContinue {
		s.Request.Del("expect")
		if hc.head.Body.HasBody() {
			hc.w.WriteContinue()
		}
	}
	return true
}

// readFailed handles a failed request read: a clean close, a timeout or a protocol error
// answered with the status Envoy sends.
func (hc *h1conn) readFailed(err error) bool {
	m := hc.m
	var perr *http1.Error
	var nerr net.Error
	switch {
	case errors.As(err, &perr):
		m.stats.CxProtocolError.Inc()
		hc.replyUnparsed(perr.Status, streaminfo.DownstreamProtocolError, perr.Details)
	case errors.As(err, &nerr) && nerr.Timeout():
		m.stats.CxIdleTimeout.Inc()
	}
	return false
}

// replyUnparsed answers a request whose head could not be read, and closes the
// connection after it.
func (hc *h1conn) replyUnparsed(status int, flag streaminfo.Flags, details string) {
	s := &hc.s
	s.Info.Start = time.Now()
	s.Info.Downstream = hc.c.Downstream
	hc.m.stats.RqActive.Inc()
	hc.closing = true
	s.Request.Reset()
	hc.body.init(hc, http1.NoBody)
	hc.head = http1.Head{Minor: 1}
	s.SendLocalReply(status, "", flag, details, nil)
	hc.finish()
}

// finish completes a stream: drains an unread body, flushes, logs and counts.
func (hc *h1conn) finish() {
	hc.abort.StopTimer()
	if hc.abort.Timeout() != nil {
		hc.closing = true // the stream ended midway: what is left of it on the wire is unknown
	}
	if hc.watch.stop() {
		hc.aborted, hc.closing = true, true
		if !hc.responded.Load() {
			hc.s.Info.AddFlag(streaminfo.DownstreamConnectionTermination)
		}
	}
	if !hc.body.Done() && !hc.aborted && !hc.upgraded {
		if n, _ := io.CopyN(io.Discard, &hc.body, maxDrainBody+1); n > maxDrainBody || !hc.body.Done() {
			hc.closing = true
		}
	}
	if !hc.aborted {
		if err := hc.w.Flush(); err != nil {
			hc.aborted = true
		}
	}
	hc.m.finishStream(&hc.s)
}

// WriteHeaders writes the response head with HTTP/1 framing chosen from the headers.
func (hc *h1conn) WriteHeaders(h *header.Map, end bool) error {
	status, _ := strconv.Atoi(h.Get(header.Status))
	upgrade := status == 101 || (hc.head.Upgrade && status/100 == 2 && hc.s.Request.Get(header.Method) == "CONNECT")
	f := http1.Framing{Length: -1}
	if cl, ok := h.Lookup("content-length"); ok {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil {
			f.Length = n
		}
	}
	switch {
	case upgrade:
		f = http1.NoBody
	case end && (f.Length < 0 || !hc.noBody):
		f.Length = 0
	case f.Length < 0 && hc.head.Minor == 0:
		f.Close = true
		hc.closing = true
	}
	if !hc.closing && hc.draining() {
		hc.m.stats.CxDrainClose.Inc()
		hc.closing = true
	}
	hc.w.WriteResponseHead(status, h, f, hc.head.Minor, upgrade, hc.closing)
	if end || upgrade {
		return hc.flushEnd(end && !upgrade)
	}
	return nil
}

// flushEnd flushes the response; complete says it is the response's last byte.
func (hc *h1conn) flushEnd(complete bool) error {
	err := hc.w.Flush()
	if err == nil && complete {
		hc.responded.Store(true)
	}
	return err
}

// Write writes response body bytes (none for HEAD).
func (hc *h1conn) Write(p []byte) (int, error) {
	if hc.noBody {
		return len(p), nil
	}
	return hc.w.Write(p)
}

// Flush sends buffered response bytes.
func (hc *h1conn) Flush() error { return hc.w.Flush() }

// End ends the response body; trailers go out only on chunked responses.
func (hc *h1conn) End(t *header.Map) error {
	hc.w.EndBody(t)
	return hc.flushEnd(true)
}

// Reset closes the connection: an HTTP/1 response cannot be aborted otherwise.
func (hc *h1conn) Reset() {
	hc.aborted = true
	hc.closing = true
	hc.c.Close()
}

// Upgrade hands over the raw connection, with any bytes already read, after an
// upgrade response.
func (hc *h1conn) Upgrade() (io.ReadWriter, error) {
	if err := hc.w.Flush(); err != nil {
		return nil, err
	}
	hc.upgraded = true
	hc.setDeadline(time.Time{})
	return struct {
		io.Reader
		io.Writer
	}{hc.r, hc.c.Conn}, nil
}

// h1body is the request body of the current HTTP/1 request.
type h1body struct {
	hc       *h1conn
	b        *http1.Body
	length   int64
	trailers header.Map
}

func (b *h1body) init(hc *h1conn, f http1.Framing) {
	b.hc = hc
	b.trailers.Reset()
	b.b = hc.r.Body(f, &b.trailers)
	switch {
	case f.Chunked:
		b.length = -1
	default:
		b.length = f.Length
	}
}

func (b *h1body) Read(p []byte) (int, error) {
	hc := b.hc
	if !b.b.Buffered() {
		hc.bodyDeadline()
	}
	n, err := b.b.Read(p)
	info := &hc.s.Info
	info.BytesReceived += int64(n)
	switch {
	case err == nil:
	case err == io.EOF:
		info.Mark(&info.LastDownstreamRxByte)
	default:
		err = hc.bodyError(err)
		hc.s.DownstreamErr = err
	}
	return n, err
}

// bodyError names a failed request body read: the request timeout, the stream idle
// timeout, or the downstream going away.
func (hc *h1conn) bodyError(err error) error {
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		hc.s.Info.AddFlag(streaminfo.DownstreamConnectionTermination)
		return err
	}
	hc.closing = true
	return hc.m.bodyTimeout(hc.s.Info.Start)
}

// Length returns the body length (0: none, -1: unknown).
func (b *h1body) Length() int64 { return b.length }

// Trailers returns the chunked body's trailers once the body was read.
func (b *h1body) Trailers() *header.Map {
	if b.trailers.Len() == 0 {
		return nil
	}
	return &b.trailers
}

// Buffered reports whether the rest of the body is already buffered.
func (b *h1body) Buffered() bool { return b.b.Buffered() }

// Done reports whether the body was read to the end.
func (b *h1body) Done() bool { return b.b.Done() }
