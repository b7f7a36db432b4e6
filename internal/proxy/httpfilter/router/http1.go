package router

import (
	"errors"
	"io"
	"time"

	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/http1"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
	"github.com/weftmesh/weft/internal/proxy/upstream"
)

// tryHTTP1 sends the request on an HTTP/1.1 connection from the host's pool and reads
// the response head.
func (a *attempt) tryHTTP1() (*upstreamResponse, *failure) {
	s := a.s
	pool := a.host.HTTP1()
	var conn *connpool.Conn
	var err error
	if a.fresh {
		conn, err = pool.AcquireNew(s.Ctx)
	} else {
		conn, err = pool.Acquire(s.Ctx)
	}
	if err != nil {
		return nil, a.classify(err, false, true, false)
	}
	s.Info.UpstreamLocal = addrPort(conn.LocalAddr())
	s.WatchUpstream(conn)
	if !a.tryDeadline.IsZero() {
		conn.SetDeadline(a.tryDeadline)
	} else {
		conn.SetDeadline(time.Time{})
	}
	sent := a.sendHTTP1(conn)
	if sent.ch == nil && sent.err != nil {
		s.WatchUpstream(nil)
		pool.Release(conn, false)
		return nil, a.classify(sent.err, conn.Reused, true, false)
	}
	resp := &a.resp
	*resp = upstreamResponse{headers: s.ResponseHeaders(), h1: conn, sent: sent}
	err = readResponseHead(conn, resp.headers, &resp.h1head, s.Request.Get(header.Method))
	if err != nil {
		s.WatchUpstream(nil)
		noResponse := conn.R.Buffered() == 0 && isConnReset(err)
		conn.Close()
		wroteAll := sent.wait() == nil
		pool.Release(conn, false)
		return nil, a.classify(err, conn.Reused, noResponse, wroteAll)
	}
	resp.status = resp.h1head.Status
	if a.tryDeadline != a.deadline { // the per-try timeout ends with the response head
		conn.SetDeadline(a.deadline)
	}
	return resp, nil
}

// stream sends an upstream response downstream.
func (a *attempt) stream(resp *upstreamResponse) {
	defer a.end()
	s := a.s
	s.Info.Mark(&s.Info.FirstUpstreamRxByte)
	a.responseStarted(resp.status)
	h := resp.headers
	a.prepareResponse(h)
	if resp.h2 != nil {
		a.streamHTTP2(resp, h)
		return
	}
	a.streamHTTP1(resp, h)
}

// streamHTTP1 sends an HTTP/1 upstream response downstream and returns the connection
// to the pool, for reuse when both messages ended cleanly.
func (a *attempt) streamHTTP1(resp *upstreamResponse, h *header.Map) {
	s, conn, head := a.s, resp.h1, &resp.h1head
	reuse := false
	defer func() {
		s.WatchUpstream(nil)
		a.host.HTTP1().Release(conn, reuse)
	}()
	if head.Upgrade {
		a.upgrade(conn, h)
		return
	}
	if err := s.SendHeaders(h, !head.Body.HasBody()); err != nil {
		return
	}
	if !head.Body.HasBody() {
		reuse = head.KeepAlive && resp.sent.wait() == nil
		return
	}
	trailers := s.ResponseTrailers()
	body := conn.R.Body(head.Body, trailers)
	if err := a.copyResponseBody(body, conn.R); err != nil {
		a.bodyFailed(err)
		return
	}
	if trailers.Len() > 0 {
		s.End(trailers)
	} else {
		s.End(nil)
	}
	reuse = head.KeepAlive && body.Done() && resp.sent.wait() == nil
}

// discard drops a response that will be retried.
func (a *attempt) discard(resp *upstreamResponse) {
	a.c.Stats().RecordResponse(resp.status)
	a.host.Report(upstream.ResultResponse, resp.status, time.Since(a.start))
	if resp.status >= 500 {
		a.host.Stats.RqError.Add(1)
	}
	if resp.h2 != nil {
		resp.h2.Body.Close()
		resp.cancel()
	} else {
		a.s.WatchUpstream(nil)
		resp.h1.Close()
		resp.sent.wait()
		a.host.HTTP1().Release(resp.h1, false)
	}
	a.end()
}

// readResponseHead reads the upstream response head, skipping interim 1xx responses
// other than 101.
func readResponseHead(conn *connpool.Conn, resp *header.Map, head *http1.Head, method string) error {
	for {
		if err := conn.R.ReadResponse(resp, head, method); err != nil {
			return err
		}
		if head.Status >= 200 || head.Status == 101 {
			return nil
		}
	}
}

// sending is the outcome of sending a request body: known at once when the body was
// in memory, or later from the goroutine streaming it.
type sending struct {
	err error
	ch  chan error
}

func (r *sending) wait() error {
	if r.ch != nil {
		r.err, r.ch = <-r.ch, nil
	}
	return r.err
}

// sendHTTP1 writes the request head and body. A body already in memory is written
// with the head, in one write; any other body is streamed by a goroutine so that the
// response can arrive while it is still being sent.
func (a *attempt) sendHTTP1(conn *connpool.Conn) sending {
	s := a.s
	n := s.Body.Length()
	f := http1.Framing{Length: n}
	if n < 0 {
		f = http1.Framing{Length: -1, Chunked: true}
	}
	conn.W.WriteRequestHead(&s.Request, f, isUpgrade(&s.Request))
	s.Info.Mark(&s.Info.FirstUpstreamTxByte)
	if n == 0 || s.Body.Buffered() {
		err := copyRequestBody(s, conn)
		if err == nil {
			err = conn.W.Flush()
		}
		s.Info.Mark(&s.Info.LastUpstreamTxByte)
		return sending{err: err}
	}
	if err := conn.W.Flush(); err != nil {
		return sending{err: err}
	}
	ch := make(chan error, 1)
	go streamRequestBody(s, conn, ch)
	return sending{ch: ch}
}

func streamRequestBody(s *httpfilter.Stream, conn *connpool.Conn, ch chan<- error) {
	err := copyRequestBody(s, conn)
	if err == nil {
		err = conn.W.Flush()
	}
	if err != nil {
		conn.Close() // wakes the response reader
	}
	s.Info.Mark(&s.Info.LastUpstreamTxByte)
	ch <- err
}

// copyRequestBody copies the downstream body into the upstream writer.
func copyRequestBody(s *httpfilter.Stream, conn *connpool.Conn) error {
	if s.Body.Length() == 0 {
		return nil
	}
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	buf := *bp
	for {
		n, err := s.Body.Read(buf)
		if n > 0 {
			s.Info.UpstreamBytesSent += int64(n)
			if _, werr := conn.W.Write(buf[:n]); werr != nil {
				return werr
			}
			if !s.Body.Buffered() {
				if werr := conn.W.Flush(); werr != nil {
					return werr
				}
			}
		}
		if err == io.EOF {
			conn.W.EndBody(s.Body.Trailers())
			return nil
		}
		if err != nil {
			var te *httpfilter.TimeoutError
			if !errors.As(err, &te) { // a timeout names itself in the local reply
				s.Info.AddFlag(streaminfo.DownstreamConnectionTermination)
			}
			return err
		}
	}
}

func isUpgrade(h *header.Map) bool {
	return h.Has("upgrade") || h.Get(header.Method) == "CONNECT"
}

// upgrade sends the 101 (or CONNECT 2xx) downstream and splices the two connections
// until either side closes.
func (a *attempt) upgrade(conn *connpool.Conn, h *header.Map) {
	s := a.s
	if err := s.SendHeaders(h, false); err != nil {
		return
	}
	down, err := s.Upgrade()
	if err != nil {
		s.Reset()
		return
	}
	conn.SetDeadline(time.Time{})
	done := make(chan struct{})
	go func() {
		n, _ := io.Copy(conn, down)
		s.Info.BytesReceived += n
		conn.Close()
		close(done)
	}()
	n, _ := io.Copy(down, conn.R)
	s.Info.BytesSent += n
	conn.Close()
	s.Reset() // the downstream connection was handed over; closing it ends the other copy
	<-done
}
