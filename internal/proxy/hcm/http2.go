package hcm

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/http2"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
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
	srv := &http2.Server{
		MaxConcurrentStreams:         orDefault(m.h2MaxStreams, defaultH2MaxStreams),
		MaxUploadBufferPerStream:     int32(orDefault(m.h2StreamWindow, defaultH2StreamWindow)),
		MaxUploadBufferPerConnection: int32(orDefault(m.h2ConnWindow, defaultH2ConnWindow)),
		IdleTimeout:                  m.idleTimeout,
	}
	base := &http.Server{}
	if err := http2.ConfigureServer(base, srv); err != nil {
		return
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-c.Drain:
			m.stats.CxDrainClose.Inc()
			sctx, cancel := context.WithTimeout(context.Background(), m.drainTimeout)
			defer cancel()
			base.Shutdown(sctx)
		case <-done:
		}
	}()
	conn := netfilter.WithPrefix(c.Conn, preface)
	srv.ServeConn(conn, &http2.ServeConnOpts{
		Context:    ctx,
		BaseConfig: base,
		Handler:    http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { m.serveH2Stream(c, w, r) }),
	})
}

func orDefault(v, def uint32) uint32 {
	if v == 0 {
		return def
	}
	return v
}

// serveH2Stream serves one HTTP/2 stream. It runs on its own goroutine.
func (m *Manager) serveH2Stream(c *netfilter.Conn, w http.ResponseWriter, r *http.Request) {
	st := &h2stream{w: w}
	s := &st.s
	s.Init(r.Context(), st, m.encoders, m.server, m.rematchFn)
	s.Info.Start = time.Now()
	s.Info.Protocol = "HTTP/2"
	s.Info.Downstream = c.Downstream
	s.TLS = c.Downstream.TLS != nil
	s.HTTP2 = true
	m.stats.RqTotal.Inc()
	m.stats.RqHTTP2Total.Inc()
	m.stats.RqActive.Inc()
	st.requestHeaders(r, s.TLS)
	st.body = h2body{st: st, r: r}
	s.Body = &st.body
	defer func() {
		m.finishStream(s)
		if st.aborted {
			panic(http.ErrAbortHandler) // makes the server reset the stream
		}
	}()
	m.runStream(s, c)
	if !s.HeadersSent() {
		s.SendLocalReply(500, "", 0, "filter_chain_not_complete", nil)
	}
}

// h2stream is one downstream HTTP/2 stream; it is the stream's ResponseWriter.
type h2stream struct {
	s       httpfilter.Stream
	w       http.ResponseWriter
	body    h2body
	aborted bool
}

// requestHeaders converts the request into the stream's header map.
func (st *h2stream) requestHeaders(r *http.Request, tls bool) {
	h := &st.s.Request
	h.Reset()
	h.Add(header.Method, r.Method)
	if tls {
		h.Add(header.Scheme, "https")
	} else {
		h.Add(header.Scheme, "http")
	}
	h.Add(header.Authority, r.Host)
	if r.Method != http.MethodConnect {
		h.Add(header.Path, r.RequestURI)
	}
	for k, vs := range r.Header {
		name := strings.ToLower(k)
		for _, v := range vs {
			h.Add(name, v)
		}
	}
	if r.ContentLength > 0 && !h.Has("content-length") {
		h.Add("content-length", strconv.FormatInt(r.ContentLength, 10))
	}
}

// WriteHeaders sends the response head.
func (st *h2stream) WriteHeaders(h *header.Map, end bool) error {
	status, _ := strconv.Atoi(h.Get(header.Status))
	out := st.w.Header()
	for _, f := range h.Fields() {
		if header.IsPseudo(f.Name) || isHopByHop(f.Name) {
			continue
		}
		out[f.Name] = append(out[f.Name], f.Value)
	}
	st.w.WriteHeader(status)
	if !end {
		return nil
	}
	return nil
}

// isHopByHop reports fields HTTP/2 forbids.
func isHopByHop(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// Write sends body bytes.
func (st *h2stream) Write(p []byte) (int, error) {
	if st.aborted {
		return 0, errors.New("stream reset")
	}
	return st.w.Write(p)
}

// Flush sends buffered body bytes.
func (st *h2stream) Flush() error {
	st.w.(http.Flusher).Flush()
	return nil
}

// End ends the stream, with trailers when t is not nil.
func (st *h2stream) End(t *header.Map) error {
	if t != nil {
		out := st.w.Header()
		for _, f := range t.Fields() {
			out[http.TrailerPrefix+f.Name] = append(out[http.TrailerPrefix+f.Name], f.Value)
		}
	}
	return nil
}

// Reset resets the stream once the handler returns.
func (st *h2stream) Reset() { st.aborted = true }

// Upgrade is not available on HTTP/2.
func (st *h2stream) Upgrade() (io.ReadWriter, error) {
	return nil, errors.New("upgrade is not supported on HTTP/2 streams")
}

// h2body is an HTTP/2 request body.
type h2body struct {
	st *h2stream
	r  *http.Request
	tr header.Map
}

func (b *h2body) Read(p []byte) (int, error) {
	n, err := b.r.Body.Read(p)
	info := &b.st.s.Info
	info.BytesReceived += int64(n)
	if err == io.EOF {
		info.Mark(&info.LastDownstreamRxByte)
		for k, vs := range b.r.Trailer {
			for _, v := range vs {
				b.tr.Add(strings.ToLower(k), v)
			}
		}
	}
	return n, err
}

// Length returns the body length (0: none, -1: unknown).
func (b *h2body) Length() int64 {
	if b.r.Body == nil || b.r.Body == http.NoBody {
		return 0
	}
	return b.r.ContentLength
}

// Trailers returns the request trailers after the body was read.
func (b *h2body) Trailers() *header.Map {
	if b.tr.Len() == 0 {
		return nil
	}
	return &b.tr
}

// Buffered reports whether reading cannot block: only for an empty body.
func (b *h2body) Buffered() bool { return b.Length() == 0 }
