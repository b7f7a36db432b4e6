package hcm

import (
	"context"
	"errors"
	"io"
	"os"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"

	"github.com/weftmesh/weft/internal/proxy/h2"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// Envoy's HTTP/2 defaults are 256 MiB windows, which let a slow reader pin that much
// memory per stream (seed 000); weft keeps them bounded unless config asks otherwise.
const (
	defaultH2StreamWindow = 1 << 20
	defaultH2ConnWindow   = 4 << 20
	defaultH2MaxStreams   = 1024
)

// serveHTTP2 serves an HTTP/2 connection; preface holds bytes already read from it.
func (m *Manager) serveHTTP2(ctx context.Context, c *netfilter.Conn, preface []byte) {
	m.stats.CxHTTP2Total.Inc()
	m.stats.CxHTTP2Active.Inc()
	defer m.stats.CxHTTP2Active.Dec()
	cfg := h2.Config{
		MaxConcurrentStreams: orDefault(m.h2MaxStreams, defaultH2MaxStreams),
		StreamWindow:         orDefault(m.h2StreamWindow, defaultH2StreamWindow),
		ConnWindow:           orDefault(m.h2ConnWindow, defaultH2ConnWindow),
		MaxHeaderBytes:       m.maxHeaderBytes,
		MaxHeaders:           m.maxHeaders,
		IdleTimeout:          m.idleTimeout,
	}
	var hc *h2.Conn
	var streams atomic.Int64
	hc = h2.NewConn(c.Conn, netfilter.WithPrefix(c.Conn, preface), cfg,
		h2.HandlerFunc(func(st *h2.Stream) {
			if n := m.maxRequestsConn; n > 0 && streams.Add(1) == int64(n) {
				// Envoy's max_requests_per_connection: this stream is the last one.
				m.stats.CxMaxRequests.Inc()
				hc.Shutdown(m.drainTimeout)
			}
			m.serveH2Stream(ctx, c, st)
		}))
	done := make(chan struct{})
	defer close(done)
	var maxDuration <-chan time.Time
	if d := m.maxConnDuration; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		maxDuration = t.C
	}
	go func() {
		select {
		case <-c.Drain:
			m.stats.CxDrainClose.Inc()
			hc.Shutdown(m.drainTimeout)
		case <-maxDuration:
			// Envoy's max_connection_duration: GOAWAY, then drain the open streams.
			m.stats.CxMaxDuration.Inc()
			hc.Shutdown(m.drainTimeout)
		case <-done:
		}
	}()
	err := hc.Serve()
	var ce http2.ConnectionError
	switch {
	case errors.Is(err, h2.ErrIdleTimeout):
		m.stats.CxIdleTimeout.Inc()
	case errors.As(err, &ce):
		m.stats.CxProtocolError.Inc()
	}
}

func orDefault(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

// h2stream is the connection manager's state for one HTTP/2 stream. It is kept in the
// h2.Stream's Data, so that it is reused with it.
type h2stream struct {
	m     *Manager
	s     httpfilter.Stream
	abort httpfilter.Abort // cancels the stream when the client resets it
	st    *h2.Stream
}

var _ httpfilter.Body = (*h2stream)(nil)

// serveH2Stream serves one HTTP/2 stream. It runs on the stream's own goroutine.
func (m *Manager) serveH2Stream(ctx context.Context, c *netfilter.Conn, st *h2.Stream) {
	hs, _ := st.Data.(*h2stream)
	if hs == nil {
		hs = &h2stream{}
		st.Data = hs
	}
	hs.st, hs.m = st, m
	s := &hs.s
	hs.abort.Reset(ctx)
	s.Init(hs.abort.Context(), st, m.encoders, m.server, m.rematchFn)
	s.SetAbort(&hs.abort)
	st.SetCanceler(&hs.abort)
	s.Info.Reset()
	s.Info.Start = time.Now()
	s.Info.Protocol = "HTTP/2"
	s.Info.Downstream = c.Downstream
	s.TLS = c.Downstream.TLS != nil
	s.HTTP2 = true
	m.stats.RqTotal.Inc()
	m.stats.RqHTTP2Total.Inc()
	m.stats.RqActive.Inc()
	hs.requestHeaders()
	s.Body = hs
	switch {
	case st.HeadersTooLarge():
		s.SendLocalReply(431, "", streaminfo.DownstreamProtocolError, "http2.headers_too_large", nil)
	case !m.connect && s.Request.Get(header.Method) == "CONNECT":
		// As on HTTP/1: CONNECT only with an upgrade_configs entry for it.
		m.stats.RqWsOnNonWs.Inc()
		s.SendLocalReply(403, "", 0, "upgrade_failed", nil)
	default:
		m.startStream(&hs.abort)
		m.runStream(s, c)
		if !s.HeadersSent() {
			m.unanswered(s)
		}
		hs.abort.StopTimer()
	}
	if st.ResetByClient() {
		m.stats.RqRxReset.Inc()
		s.Info.AddFlag(streaminfo.DownstreamRemoteReset)
	}
	m.finishStream(s)
}

// requestHeaders copies the decoded request into the stream; :scheme says what the
// connection is, as the connection manager sees it.
func (hs *h2stream) requestHeaders() {
	h := &hs.s.Request
	h.CopyFrom(hs.st.Header())
	scheme := "http"
	if hs.s.TLS {
		scheme = "https"
	}
	fields := h.Fields()
	for i := range fields {
		if fields[i].Name == header.Scheme {
			fields[i].Value = scheme
			return
		}
	}
	h.Add(header.Scheme, scheme)
}

// Read reads the request body, counting it for the access log. A read that has to
// wait is bounded by the stream idle timeout, the request timeout and the max stream
// duration; when one passes, the error names it and the router answers with it.
func (hs *h2stream) Read(p []byte) (int, error) {
	info := &hs.s.Info
	hs.st.SetReadDeadline(hs.m.bodyDeadline(time.Now(), &hs.s))
	n, err := hs.st.Read(p)
	info.BytesReceived += int64(n)
	switch {
	case err == io.EOF:
		info.Mark(&info.LastDownstreamRxByte)
	case errors.Is(err, os.ErrDeadlineExceeded):
		err = hs.m.bodyTimeout(info.Start)
		hs.s.DownstreamErr = err
	}
	return n, err
}

// Length returns the body length (0: none, -1: unknown).
func (hs *h2stream) Length() int64 { return hs.st.Length() }

// Trailers returns the request trailers after the body was read.
func (hs *h2stream) Trailers() *header.Map { return hs.st.Trailers() }

// Buffered reports whether the rest of the body has arrived.
func (hs *h2stream) Buffered() bool { return hs.st.Buffered() }
