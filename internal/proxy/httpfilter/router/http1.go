package router

import (
	"io"
	"time"

	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/http1"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// runHTTP1 forwards the request over an HTTP/1.1 connection from the host's pool.
func (a *attempt) runHTTP1() {
	s := a.s
	conn, err := a.host.HTTP1().Acquire(s.Ctx)
	if err != nil {
		a.fail(err, false, false)
		return
	}
	s.Info.UpstreamLocal = addrPort(conn.LocalAddr())
	reuse := false
	defer func() { a.host.HTTP1().Release(conn, reuse) }()
	if a.timeout > 0 {
		conn.SetDeadline(a.start.Add(a.timeout))
	}
	sent := a.sendHTTP1(conn)
	if sent.ch == nil && sent.err != nil {
		a.fail(sent.err, conn.Reused, isTimeout(sent.err) && s.DownstreamErr == nil)
		return
	}
	var head http1.Head
	resp := s.ResponseHeaders()
	err = readResponseHead(conn, resp, &head, s.Request.Get(header.Method))
	if err != nil {
		a.fail(err, conn.Reused, isTimeout(err))
		return
	}
	s.Info.Mark(&s.Info.FirstUpstreamRxByte)
	a.responseStarted(head.Status)
	a.prepareResponse(resp)
	if head.Upgrade {
		a.upgrade(conn)
		return
	}
	if err := s.SendHeaders(resp, !head.Body.HasBody()); err != nil {
		return
	}
	if !head.Body.HasBody() {
		reuse = head.KeepAlive && sent.wait() == nil
		if a.timeout > 0 {
			conn.SetDeadline(time.Time{})
		}
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
	reuse = head.KeepAlive && body.Done() && sent.wait() == nil
	if reuse && a.timeout > 0 {
		conn.SetDeadline(time.Time{})
	}
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
			s.Info.AddFlag(streaminfo.DownstreamConnectionTermination)
			return err
		}
	}
}

func isUpgrade(h *header.Map) bool {
	return h.Has("upgrade") || h.Get(header.Method) == "CONNECT"
}

// upgrade sends the 101 (or CONNECT 2xx) downstream and splices the two connections
// until either side closes.
func (a *attempt) upgrade(conn *connpool.Conn) {
	s := a.s
	if err := s.SendHeaders(s.ResponseHeaders(), false); err != nil {
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
