package router

import (
	"errors"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/http1"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
	"github.com/weftmesh/weft/internal/proxy/upstream"
)

// attempt is one upstream request of a stream.
type attempt struct {
	r       *Router
	s       *httpfilter.Stream
	rt      *route.Entry
	c       *upstream.Cluster
	host    *upstream.Host
	timeout time.Duration
	start   time.Time
	code    int
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

func (a *attempt) run() {
	a.start = time.Now()
	st, hs := a.c.Stats(), &a.host.Stats
	st.RqTotal.Inc()
	st.RqActive.Inc()
	hs.RqTotal.Add(1)
	hs.RqActive.Add(1)
	defer func() {
		st.RqActive.Dec()
		hs.RqActive.Add(-1)
		if a.code != 0 {
			st.RqTime.Record(uint64(time.Since(a.start).Milliseconds()))
		}
	}()
	if a.useHTTP2() {
		a.runHTTP2()
		return
	}
	a.runHTTP1()
}

func (a *attempt) useHTTP2() bool {
	switch a.c.Protocol() {
	case upstream.HTTP2:
		return true
	case upstream.UseDownstream:
		return a.s.HTTP2
	}
	return false
}

// responseStarted counts the upstream response's status.
func (a *attempt) responseStarted(code int) {
	a.code = code
	a.c.Stats().RecordResponse(code)
	if code >= 500 {
		a.host.Stats.RqError.Add(1)
	} else {
		a.host.Stats.RqSuccess.Add(1)
	}
}

// prepareResponse applies the route's response headers and the service-time header.
func (a *attempt) prepareResponse(h *header.Map) {
	a.rt.FinalizeResponse(h, &a.s.Info)
	if !a.r.suppressHeaders {
		h.Set("x-envoy-upstream-service-time", strconv.FormatInt(time.Since(a.start).Milliseconds(), 10))
	}
}

// fail answers the downstream after an upstream failure, naming it with a response flag
// and Envoy's words.
func (a *attempt) fail(err error, reused, timedOut bool) {
	s := a.s
	st := a.c.Stats()
	var ce *connpool.ConnectError
	var pe *http1.Error
	var te *httpfilter.TimeoutError
	switch {
	case errors.As(s.DownstreamErr, &te):
		s.SendLocalReply(te.Status, te.Body, te.Flag, te.Details, nil)
		return
	case s.DownstreamErr != nil:
		st.RqCancelled.Inc()
		s.Reset()
		return
	case errors.Is(err, connpool.ErrOverflow):
		s.SendLocalReply(503, overflowBody, streaminfo.UpstreamOverflow, "upstream_reset_before_response_started{overflow}", a.r.finalizer(s))
	case errors.As(err, &ce):
		s.Info.UpstreamTransportFailureReason = ce.Reason()
		body := "upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: " + ce.Reason()
		s.SendLocalReply(503, body, streaminfo.UpstreamConnectionFailure, "upstream_reset_before_response_started{connection_failure}", a.r.finalizer(s))
	case timedOut:
		st.RqTimeout.Inc()
		a.host.Stats.RqTimeout.Add(1)
		s.SendLocalReply(504, "upstream request timeout", streaminfo.UpstreamRequestTimeout, "upstream_response_timeout", a.r.finalizer(s))
	case errors.As(err, &pe):
		st.CxProtocolError.Inc()
		s.SendLocalReply(502, "upstream connect error or disconnect/reset before headers. reset reason: protocol error",
			streaminfo.UpstreamProtocolError, "upstream_reset_before_response_started{protocol_error}", a.r.finalizer(s))
	case s.Ctx.Err() != nil:
		st.RqCancelled.Inc()
		s.Info.AddFlag(streaminfo.DownstreamConnectionTermination)
		s.Reset()
	default:
		st.RqRxReset.Inc()
		s.SendLocalReply(503, "upstream connect error or disconnect/reset before headers. reset reason: connection termination",
			streaminfo.UpstreamConnectionTermination, "upstream_reset_before_response_started{connection_termination}", a.r.finalizer(s))
	}
	a.host.Stats.RqError.Add(1)
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// copyResponseBody streams an upstream body downstream, flushing whenever the upstream
// has nothing more buffered so that streamed responses are not held back.
func (a *attempt) copyResponseBody(body io.Reader, src bufferer) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	s := a.s
	first := true
	for {
		n, err := body.Read(buf)
		if n > 0 {
			if first {
				s.Info.Mark(&s.Info.FirstUpstreamRxByte)
				first = false
			}
			s.Info.UpstreamBytesReceived += int64(n)
			if werr := s.SendData(buf[:n]); werr != nil {
				return werr
			}
			if src.Buffered() == 0 {
				if werr := s.Flush(); werr != nil {
					return werr
				}
			}
		}
		if err == io.EOF {
			s.Info.Mark(&s.Info.LastUpstreamRxByte)
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// bufferer tells how many bytes a reader holds that can be read without blocking.
type bufferer interface{ Buffered() int }

// unbuffered is the bufferer of readers that never hold bytes back: every read is
// flushed downstream.
type unbuffered struct{}

func (unbuffered) Buffered() int { return 0 }

// bodyFailed handles an upstream body that broke after the response head went down.
func (a *attempt) bodyFailed(err error) {
	s := a.s
	a.r.st.resetAfterStarted.Inc()
	switch {
	case isTimeout(err):
		a.c.Stats().RqTimeout.Inc()
		s.Info.AddFlag(streaminfo.UpstreamRequestTimeout)
	case s.Ctx.Err() != nil:
		s.Info.AddFlag(streaminfo.DownstreamConnectionTermination)
	default:
		a.c.Stats().RqRxReset.Inc()
		s.Info.AddFlag(streaminfo.UpstreamRemoteReset)
	}
	s.Reset()
}
