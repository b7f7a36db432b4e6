package hcm

import (
	"bytes"
	"context"
	"math/rand/v2"
	"time"

	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"

	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

var _ netfilter.Handler = (*Manager)(nil)

// h2Preface is the start of the HTTP/2 client connection preface.
var h2Preface = []byte("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

// ServeConn serves one downstream connection until it closes, the idle timeout ends
// it, or the listener drains.
func (m *Manager) ServeConn(ctx context.Context, c *netfilter.Conn) {
	start := time.Now()
	m.stats.CxTotal.Inc()
	m.stats.CxActive.Inc()
	defer func() {
		m.stats.CxActive.Dec()
		m.stats.CxDestroy.Inc()
		m.stats.CxLengthMs.Record(uint64(time.Since(start).Milliseconds()))
	}()
	switch m.codec {
	case hcmv3.HttpConnectionManager_HTTP2:
		m.serveHTTP2(ctx, c, nil)
	case hcmv3.HttpConnectionManager_HTTP1:
		m.serveHTTP1(ctx, c)
	default:
		m.serveAuto(ctx, c)
	}
}

// serveAuto picks the codec from ALPN or, in cleartext, from the HTTP/2 preface.
func (m *Manager) serveAuto(ctx context.Context, c *netfilter.Conn) {
	if c.ALPN == "h2" {
		m.serveHTTP2(ctx, c, nil)
		return
	}
	if c.ALPN == "http/1.1" {
		m.serveHTTP1(ctx, c)
		return
	}
	var buf [24]byte
	n := 0
	c.Idle.Store(true) // nothing in flight until the first bytes arrive
	for n < len(buf) {
		if n == 0 {
			select {
			case <-c.Drain:
				return
			default:
			}
		}
		c.SetReadDeadline(time.Now().Add(m.streamIdleTimeout))
		k, err := c.Read(buf[n:])
		n += k
		c.Idle.Store(false)
		if err != nil || !bytes.HasPrefix(h2Preface, buf[:n]) {
			break
		}
	}
	c.SetReadDeadline(time.Time{})
	if n == len(buf) && bytes.Equal(buf[:], h2Preface) {
		m.serveHTTP2(ctx, c, buf[:n])
		return
	}
	c.Conn = netfilter.WithPrefix(c.Conn, append([]byte(nil), buf[:n]...))
	m.serveHTTP1(ctx, c)
}

// runStream runs a decoded request through route matching and the filters.
func (m *Manager) runStream(s *httpfilter.Stream, c *netfilter.Conn) {
	m.prepareRequest(s, c)
	s.Random = rand.Uint64()
	if t := m.table(); t != nil {
		s.Route = t.Match(&s.Request, &s.Info, s.Random)
	}
	for _, f := range m.filters {
		if f.DecodeHeaders(s) == httpfilter.Stop {
			return
		}
	}
}

// rematch is the Stream's route re-evaluation after a filter changed headers.
func (m *Manager) rematch(s *httpfilter.Stream) *route.Entry {
	if t := m.table(); t != nil {
		return t.Match(&s.Request, &s.Info, s.Random)
	}
	return nil
}

// durationTimeout is the local reply when max_stream_duration ends a stream, as
// Envoy's: 408 while the request is still arriving, 504 once it is complete.
var durationTimeout = &httpfilter.TimeoutError{Status: 408, CompleteStatus: 504,
	Flag: streaminfo.DurationTimeout, Details: "max_duration_timeout", Body: "downstream duration timeout"}

// startStream arms the stream's max_stream_duration timer.
func (m *Manager) startStream(a *httpfilter.Abort) {
	if m.maxStreamDuration > 0 {
		a.StartTimer(m.maxStreamDuration, durationTimeout)
	}
}

// unanswered answers a stream the filters left without a response: with the local
// reply of the downstream timeout that ended it, or 500.
func (m *Manager) unanswered(s *httpfilter.Stream) {
	if te := s.Timeout(); te != nil {
		s.SendTimeoutReply(te)
		return
	}
	s.SendLocalReply(500, "", 0, "filter_chain_not_complete", nil)
}

// bodyTimeout names a request body read that timed out at its deadline: the stream's
// max duration, the request timeout, or else the stream idle timeout.
func (m *Manager) bodyTimeout(start time.Time) *httpfilter.TimeoutError {
	since := time.Since(start)
	msd, rt := m.maxStreamDuration, m.requestTimeout
	switch {
	case msd > 0 && since >= msd && (rt <= 0 || msd <= rt):
		return durationTimeout
	case rt > 0 && since >= rt:
		m.stats.RqTimeout.Inc()
		return &httpfilter.TimeoutError{Status: 408, Details: "request_overall_timeout", Body: "request timeout"}
	case msd > 0 && since >= msd:
		return durationTimeout
	}
	m.stats.RqIdleTimeout.Inc()
	return &httpfilter.TimeoutError{Status: 408, Flag: streaminfo.StreamIdleTimeout, Details: "stream_idle_timeout", Body: "stream timeout"}
}

// bodyDeadline is when a request body read of s that has to wait gives up: the stream
// idle timeout from now, or the request timeout or max stream duration from the
// stream's start, whichever comes first (zero: never).
func (m *Manager) bodyDeadline(now time.Time, s *httpfilter.Stream) time.Time {
	var want time.Time
	if d := m.streamIdle(s); d > 0 {
		want = now.Add(d)
	}
	start := s.Info.Start
	for _, d := range [...]time.Duration{m.requestTimeout, m.maxStreamDuration} {
		if d > 0 {
			if end := start.Add(d); want.IsZero() || end.Before(want) {
				want = end
			}
		}
	}
	return want
}

// streamIdle is the stream idle timeout of s: its route's idle_timeout when the route
// sets one (0 turns it off), else the connection manager's stream_idle_timeout.
func (m *Manager) streamIdle(s *httpfilter.Stream) time.Duration {
	if s.Route != nil {
		if d, ok := s.Route.IdleTimeout(); ok {
			return d
		}
	}
	return m.streamIdleTimeout
}

// finishStream records a finished stream: stats, access log, stream loggers.
func (m *Manager) finishStream(s *httpfilter.Stream) {
	if s.Timeout() == durationTimeout {
		m.stats.RqMaxDuration.Inc()
	}
	s.Info.End = max(s.Info.Since(), 1)
	m.stats.RqActive.Dec()
	m.stats.response(s.Info.ResponseCode)
	m.stats.RqTime.Record(uint64(s.Info.End.Milliseconds()))
	s.Info.RequestHeaders = &s.Request
	if m.accessLog != nil {
		m.accessLog.Log(&s.Info)
	}
	for _, l := range m.loggers {
		l.OnStreamComplete(s)
	}
}
