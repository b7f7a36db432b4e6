package router

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
)

// runHTTP2 forwards the request as a stream on an HTTP/2 connection from the host's pool.
func (a *attempt) runHTTP2() {
	s := a.s
	ctx := s.Ctx
	if a.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, a.start.Add(a.timeout))
		defer cancel()
	}
	cc, err := a.host.HTTP2().Acquire(ctx)
	if err != nil {
		a.fail(err, false, false)
		return
	}
	req := newH2Request(ctx, s)
	s.Info.Mark(&s.Info.FirstUpstreamTxByte)
	resp, err := cc.RoundTrip(req)
	if err != nil {
		a.fail(err, false, ctx.Err() == context.DeadlineExceeded && s.Ctx.Err() == nil)
		return
	}
	defer resp.Body.Close()
	s.Info.Mark(&s.Info.FirstUpstreamRxByte)
	h := s.ResponseHeaders()
	h.Reset()
	h.Add(header.Status, strconv.Itoa(resp.StatusCode))
	for k, vs := range resp.Header {
		name := strings.ToLower(k)
		for _, v := range vs {
			h.Add(name, v)
		}
	}
	a.responseStarted(resp.StatusCode)
	a.prepareResponse(h)
	if err := s.SendHeaders(h, false); err != nil {
		return
	}
	if err := a.copyResponseBody(resp.Body, unbuffered{}); err != nil {
		a.bodyFailed(err)
		return
	}
	var tr header.Map
	for k, vs := range resp.Trailer {
		name := strings.ToLower(k)
		for _, v := range vs {
			tr.Add(name, v)
		}
	}
	s.End(&tr)
}

// newH2Request builds the upstream request from the stream's headers and body.
func newH2Request(ctx context.Context, s *httpfilter.Stream) *http.Request {
	h := &s.Request
	scheme := h.Get(header.Scheme)
	if scheme == "" {
		scheme = "http"
	}
	req := &http.Request{
		Method:     h.Get(header.Method),
		URL:        &url.URL{Scheme: scheme, Host: h.Get(header.Authority), Opaque: h.Get(header.Path)},
		Host:       h.Get(header.Authority),
		Proto:      "HTTP/2.0",
		ProtoMajor: 2,
		Header:     make(http.Header, h.Len()),
	}
	for _, f := range h.Fields() {
		if header.IsPseudo(f.Name) || f.Name == "content-length" || f.Name == "upgrade" {
			continue
		}
		req.Header[f.Name] = append(req.Header[f.Name], f.Value)
	}
	if n := s.Body.Length(); n != 0 {
		req.Body = io.NopCloser(countingReader{s})
		req.ContentLength = n
	} else {
		req.Body = http.NoBody
	}
	return req.WithContext(ctx)
}

// countingReader reads the downstream body for the upstream stream, counting it.
type countingReader struct{ s *httpfilter.Stream }

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.s.Body.Read(p)
	r.s.Info.UpstreamBytesSent += int64(n)
	if err == io.EOF {
		r.s.Info.Mark(&r.s.Info.LastUpstreamTxByte)
	}
	return n, err
}
