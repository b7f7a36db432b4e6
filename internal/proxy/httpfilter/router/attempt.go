package router

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http2"

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
	r           *Router
	s           *httpfilter.Stream
	rt          *route.Entry
	c           *upstream.Cluster
	host        *upstream.Host
	n           int
	fresh       bool      // use a new connection (re-send after a stale one)
	deadline    time.Time // the route timeout's or max stream duration's end (zero: none)
	msd         time.Time // the max stream duration's end (zero: none)
	tryDeadline time.Time // the per-try timeout's end, until the response head
	perTry      bool      // tryDeadline comes from the per-try timeout
	perTryIdle  bool      // ... and that is per_try_idle_timeout
	start       time.Time
	held        bool // holds a max_requests unit and the active-request counts
	setCookie   string
	resp        upstreamResponse // reused storage for the response head
}

// failKind classifies an attempt that got no response.
type failKind int

const (
	failConnect failKind = iota + 1
	failOverflow
	failReset
	failRefused
	failPerTryTimeout
	failTimeout
	failProtocol
	failDownstream
	failMaxDuration
)

// failure is an attempt that ended without a usable response head.
type failure struct {
	kind failKind
	err  error
	// reused: the attempt ran on a connection that had served earlier requests.
	reused bool
	// noResponse: not one response byte came back.
	noResponse bool
	// wroteAll: the whole request reached the socket.
	wroteAll bool
}

// upstreamResponse is a response head from upstream whose body is not yet read.
type upstreamResponse struct {
	status int
	// headers points at the stream's response header storage, which the head is read
	// into directly.
	headers *header.Map
	h1      *connpool.Conn
	h1head  http1.Head
	sent    sending
	h2      *http.Response
	cancel  context.CancelFunc
}

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// try sends the request and reads the response head.
func (a *attempt) try() (*upstreamResponse, *failure) {
	a.start = time.Now()
	if !a.c.Breaker(false).Requests.TryAcquire() {
		a.c.Stats().Pool.RqPendingOverflow.Inc()
		return nil, &failure{kind: failOverflow, err: connpool.ErrOverflow}
	}
	a.begin()
	var resp *upstreamResponse
	var f *failure
	if a.useHTTP2() {
		resp, f = a.tryHTTP2()
	} else {
		resp, f = a.tryHTTP1()
	}
	if f != nil {
		a.report(f)
		a.end()
	}
	return resp, f
}

// begin counts the attempt as an active upstream request.
func (a *attempt) begin() {
	st, hs := a.c.Stats(), &a.host.Stats
	st.RqTotal.Inc()
	st.RqActive.Inc()
	hs.RqTotal.Add(1)
	hs.RqActive.Add(1)
	a.held = true
}

// end releases what begin took.
func (a *attempt) end() {
	if !a.held {
		return
	}
	a.held = false
	a.c.Stats().RqActive.Dec()
	a.host.Stats.RqActive.Add(-1)
	a.c.Breaker(false).Requests.Release()
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

// report tells the host's outlier detector how a failed attempt ended.
func (a *attempt) report(f *failure) {
	took := time.Since(a.start)
	switch f.kind {
	case failConnect:
		a.host.Report(upstream.ResultConnectFailed, 0, took)
	case failPerTryTimeout, failTimeout, failMaxDuration:
		a.host.Report(upstream.ResultTimeout, 0, took)
	case failReset, failRefused, failProtocol:
		a.host.Report(upstream.ResultReset, 0, took)
	}
}

// responseStarted counts the upstream response's status.
func (a *attempt) responseStarted(code int) {
	a.c.Stats().RecordResponse(code)
	a.c.Stats().RqTime.Record(uint64(time.Since(a.start).Milliseconds()))
	a.host.Report(upstream.ResultResponse, code, time.Since(a.start))
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
	if a.setCookie != "" {
		h.Add("set-cookie", a.setCookie)
	}
	if a.rt.VirtualHost().IncludeAttemptCountInResponse() {
		h.Set("x-envoy-attempt-count", itoa(a.n))
	}
}

// classify turns an error from connecting, sending or reading the head into a failure.
func (a *attempt) classify(err error, reused, noResponse, wroteAll bool) *failure {
	f := &failure{err: err, reused: reused, noResponse: noResponse, wroteAll: wroteAll}
	var ce *connpool.ConnectError
	var pe *http1.Error
	var se http2.StreamError
	switch {
	case a.s.DownstreamErr != nil || (a.s.Ctx.Err() != nil && !errors.Is(a.s.Ctx.Err(), context.DeadlineExceeded)):
		f.kind = failDownstream
	case errors.Is(err, connpool.ErrOverflow):
		f.kind = failOverflow
	case errors.As(err, &ce):
		f.kind = failConnect
	case isTimeout(err) || errors.Is(err, context.DeadlineExceeded):
		now := time.Now()
		switch {
		case a.perTry && (a.deadline.IsZero() || now.Before(a.deadline)):
			f.kind = failPerTryTimeout
			a.timedOut(f.kind) // counted whether or not the attempt is retried, as Envoy does
		case !a.msd.IsZero() && !now.Before(a.msd) && a.deadline.Equal(a.msd):
			f.kind = failMaxDuration
		default:
			f.kind = failTimeout
		}
	case errors.As(err, &pe):
		f.kind = failProtocol
	case errors.As(err, &se) && se.Code == http2.ErrCodeRefusedStream:
		f.kind = failRefused
	default:
		f.kind = failReset
	}
	return f
}

// fail answers the downstream after a failed attempt, naming the failure with a
// response flag and Envoy's words; exhausted adds URX.
func (a *attempt) fail(f *failure, exhausted bool) {
	s, st := a.s, a.c.Stats()
	if exhausted {
		s.Info.AddFlag(streaminfo.UpstreamRetryLimitExceeded)
		st.RqRetryLimitExceed.Inc()
	}
	fin := a.r.finalizer(s)
	const prefix = "upstream connect error or disconnect/reset before headers. reset reason: "
	switch f.kind {
	case failDownstream:
		if te := s.Timeout(); te != nil {
			s.SendTimeoutReply(te)
			return
		}
		st.RqCancelled.Inc()
		s.Info.AddFlag(streaminfo.DownstreamConnectionTermination)
		s.Reset()
	case failOverflow:
		s.SendLocalReply(503, overflowBody, streaminfo.UpstreamOverflow, "upstream_reset_before_response_started{overflow}", fin)
	case failConnect:
		var ce *connpool.ConnectError
		errors.As(f.err, &ce)
		s.Info.UpstreamTransportFailureReason = ce.Reason()
		s.SendLocalReply(503, prefix+"connection failure, transport failure reason: "+ce.Reason(),
			streaminfo.UpstreamConnectionFailure, "upstream_reset_before_response_started{connection_failure}", fin)
	case failTimeout, failPerTryTimeout:
		if f.kind == failTimeout {
			a.timedOut(f.kind) // a per-try timeout was counted when it happened
		}
		s.SendLocalReply(504, "upstream request timeout", streaminfo.UpstreamRequestTimeout, "upstream_response_timeout", fin)
	case failMaxDuration:
		st.RqMaxDurationReach.Inc()
		s.SendLocalReply(408, "upstream max stream duration reached", streaminfo.UpstreamMaxStreamDurationReached,
			"upstream_max_stream_duration_reached", fin)
	case failProtocol:
		st.CxProtocolError.Inc()
		s.SendLocalReply(502, prefix+"protocol error", streaminfo.UpstreamProtocolError, "upstream_reset_before_response_started{protocol_error}", fin)
	case failRefused:
		st.RqRxReset.Inc()
		s.SendLocalReply(503, prefix+"remote refused stream reset", streaminfo.UpstreamRemoteReset, "upstream_reset_before_response_started{remote_refused_stream_reset}", fin)
	default:
		st.RqRxReset.Inc()
		s.SendLocalReply(503, prefix+"connection termination", streaminfo.UpstreamConnectionTermination, "upstream_reset_before_response_started{connection_termination}", fin)
	}
	a.host.Stats.RqError.Add(1)
}

// timedOut counts a timeout.
func (a *attempt) timedOut(kind failKind) {
	switch {
	case kind == failPerTryTimeout && a.perTryIdle:
		a.c.Stats().RqPerTryIdle.Inc()
	case kind == failPerTryTimeout:
		a.c.Stats().RqPerTryTimeout.Inc()
	default:
		a.c.Stats().RqTimeout.Inc()
	}
	a.host.Stats.RqTimeout.Add(1)
}

// isTimeout reports whether err is a deadline expiry.
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// isConnReset reports whether err says the peer reset or closed the connection.
func isConnReset(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}

// bufferer tells how many bytes a reader holds that can be read without blocking.
type bufferer interface{ Buffered() int }

// unbuffered is the bufferer of readers that never hold bytes back: every read is
// flushed downstream.
type unbuffered struct{}

func (unbuffered) Buffered() int { return 0 }

// copyResponseBody streams an upstream body downstream, flushing whenever the upstream
// has nothing more buffered so that streamed responses are not held back.
func (a *attempt) copyResponseBody(body io.Reader, src bufferer) error {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	s := a.s
	for {
		n, err := body.Read(buf)
		if n > 0 {
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

// bodyFailed handles an upstream body that broke after the response head went down.
func (a *attempt) bodyFailed(err error) {
	s := a.s
	a.r.st.resetAfterStarted.Inc()
	switch {
	case isTimeout(err):
		a.c.Stats().RqTimeout.Inc()
		s.Info.AddFlag(streaminfo.UpstreamRequestTimeout)
	case s.Timeout() != nil:
		s.Info.AddFlag(s.Timeout().Flag)
	case s.Ctx.Err() != nil:
		s.Info.AddFlag(streaminfo.DownstreamConnectionTermination)
	default:
		a.c.Stats().RqRxReset.Inc()
		s.Info.AddFlag(streaminfo.UpstreamRemoteReset)
	}
	s.Reset()
}
