package router

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
)

// tryHTTP2 sends the request as a stream on an HTTP/2 connection from the host's pool
// and waits for the response head.
func (a *attempt) tryHTTP2() (*upstreamResponse, *failure) {
	s := a.s
	ctx, cancel := context.WithCancel(s.Ctx)
	if !a.deadline.IsZero() {
		ctx, cancel = context.WithDeadline(s.Ctx, a.deadline)
	}
	var perTry *time.Timer
	if a.perTry {
		perTry = time.AfterFunc(time.Until(a.tryDeadline), cancel)
	}
	st, err := a.host.HTTP2().Acquire(ctx)
	if err != nil {
		stopTimer(perTry)
		cancel()
		return nil, a.classify(err, false, true, false)
	}
	s.Info.Mark(&s.Info.FirstUpstreamTxByte)
	resp, err := st.RoundTrip(newH2Request(ctx, s))
	perTryFired := perTry != nil && !perTry.Stop()
	if err != nil {
		st.Done()
		cancel()
		if perTryFired {
			err = context.DeadlineExceeded
		}
		return nil, a.classify(err, false, true, false)
	}
	var once sync.Once
	out := &a.resp
	*out = upstreamResponse{status: resp.StatusCode, headers: s.ResponseHeaders(), h2: resp,
		cancel: func() { once.Do(func() { cancel(); st.Done() }) }}
	out.headers.Reset()
	out.headers.Add(header.Status, strconv.Itoa(resp.StatusCode))
	for k, vs := range resp.Header {
		name := strings.ToLower(k)
		for _, v := range vs {
			out.headers.Add(name, v)
		}
	}
	return out, nil
}

func stopTimer(t *time.Timer) {
	if t != nil {
		t.Stop()
	}
}

// streamHTTP2 sends an HTTP/2 upstream response downstream, trailers included.
func (a *attempt) streamHTTP2(resp *upstreamResponse, h *header.Map) {
	s := a.s
	defer resp.cancel()
	defer resp.h2.Body.Close()
	if err := s.SendHeaders(h, false); err != nil {
		return
	}
	if err := a.copyResponseBody(resp.h2.Body, unbuffered{}); err != nil {
		a.bodyFailed(err)
		return
	}
	tr := s.ResponseTrailers()
	for k, vs := range resp.h2.Trailer {
		name := strings.ToLower(k)
		for _, v := range vs {
			tr.Add(name, v)
		}
	}
	s.End(tr)
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
