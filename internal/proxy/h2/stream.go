package h2

import (
	"errors"
	"io"
	"os"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/weftmesh/weft/internal/proxy/header"
)

var (
	errReset        = errors.New("h2: stream reset")
	errPeerReset    = errors.New("h2: stream reset by the client")
	errConnClosed   = errors.New("h2: connection closed")
	errStreamClosed = errors.New("h2: stream closed")
	errEnded        = errors.New("h2: response already ended")
	errUpgrade      = errors.New("upgrade is not supported on HTTP/2 streams")
)

// keepBody is the largest request body buffer a stream keeps for its next use.
const keepBody = 64 << 10

// Canceler is told when a stream is aborted from outside its handler: the client reset
// it, a protocol error reset it, or the connection went away. Fire must not block.
type Canceler interface {
	Fire()
}

// Stream is one request stream. Its handler reads the request (Header, Read, Trailers)
// and writes the response (WriteHeaders, Write, Flush, End, Reset); the request body
// methods may be called from another goroutine than the response ones, but each side
// from one goroutine at a time. A Stream is reused once its handler returned, so
// nothing may keep it.
type Stream struct {
	// Data is the handler's own per-stream state. It stays with the Stream when the
	// Stream is reused, so that the handler can reuse it too.
	Data any

	c        *Conn
	id       uint32
	hdr      header.Map
	trailers header.Map
	bodyLen  int64
	declLen  int64 // content-length, or -1
	head     bool  // HEAD: the response has no body
	tooLarge bool
	noBody   bool // the response must not carry a body (the handler's goroutine only)

	// The request side: the reader goroutine fills it, the body reader drains it.
	mu         sync.Mutex
	cond       sync.Cond
	buf        []byte
	off        int
	recvd      int64
	recvWindow int32
	unacked    int32
	remoteDone bool // END_STREAM received
	eof        bool // io.EOF returned to the body reader
	reading    int
	rerr       error
	canceler   Canceler
	cancelled  bool
	expect     bool // 100-continue is due on the first body read
	// deadline bounds a body read that has to wait (zero: none); only the body reader
	// uses it. wake, armed while such a read waits, wakes it when the deadline passes.
	deadline time.Time
	wake     *time.Timer

	// The response side, guarded by the connection writer's mu.
	resp        header.Map // a response head held back until the body or the end
	pending     bool       // resp is yet to be sent
	sendWindow  int32
	sentHeaders bool
	ended       bool // END_STREAM or RST_STREAM sent
	werr        error
}

var streamPool = sync.Pool{New: func() any {
	st := new(Stream)
	st.cond.L = &st.mu
	return st
}}

func newStream(c *Conn, id uint32) *Stream {
	st := streamPool.Get().(*Stream)
	st.c, st.id = c, id
	st.declLen = -1
	st.recvWindow = int32(c.cfg.StreamWindow)
	return st
}

// release clears the stream and puts it back in the pool, keeping its storage and Data.
func (st *Stream) release() {
	st.c, st.id = nil, 0
	st.hdr.Reset()
	st.trailers.Reset()
	st.resp.Reset()
	st.pending = false
	st.bodyLen, st.declLen, st.head, st.tooLarge, st.noBody = 0, -1, false, false, false
	if cap(st.buf) > keepBody {
		st.buf = nil
	}
	st.buf, st.off, st.recvd, st.recvWindow, st.unacked = st.buf[:0], 0, 0, 0, 0
	st.remoteDone, st.eof, st.reading, st.rerr = false, false, 0, nil
	st.canceler, st.cancelled, st.expect = nil, false, false
	st.deadline = time.Time{}
	if st.wake != nil {
		st.wake.Stop()
	}
	st.sendWindow, st.sentHeaders, st.ended, st.werr = 0, false, false, nil
	streamPool.Put(st)
}

// ID returns the stream's identifier.
func (st *Stream) ID() uint32 { return st.id }

// Header returns the request headers, pseudo-headers first. :authority is set from
// host when the client sent only that; host itself is removed, cookies are joined and
// expect: 100-continue is taken out (it is answered on the first body read).
func (st *Stream) Header() *header.Map { return &st.hdr }

// HeadersTooLarge reports that the request's header list was over the limit: Header
// holds only part of it and the stream should be answered with 431.
func (st *Stream) HeadersTooLarge() bool { return st.tooLarge }

// ResetByClient reports whether the client reset the stream with RST_STREAM.
func (st *Stream) ResetByClient() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.rerr == errPeerReset
}

// SetCanceler registers what to tell when the stream is aborted; if it already was,
// cn fires at once.
func (st *Stream) SetCanceler(cn Canceler) {
	st.mu.Lock()
	st.canceler = cn
	fire := st.cancelled
	st.mu.Unlock()
	if fire {
		cn.Fire()
	}
}

// receive takes a DATA frame's payload (n counts its padding too) into the body.
func (st *Stream) receive(data []byte, n int32, end bool) error {
	st.mu.Lock()
	var code ErrCode
	switch {
	case st.rerr != nil: // reset or finished: the bytes are dropped
	case st.remoteDone:
		code = ErrCodeStreamClose
	case n > st.recvWindow:
		code = ErrCodeFlowControl
	default:
		st.recvWindow -= n
		st.recvd += int64(len(data))
		if st.declLen >= 0 && (st.recvd > st.declLen || end && st.recvd != st.declLen) {
			code = ErrCodeProtocol
			break
		}
		st.unacked += n - int32(len(data))
		st.buf = append(st.buf, data...)
		st.remoteDone = end
		st.cond.Signal()
		st.mu.Unlock()
		return nil
	}
	st.mu.Unlock()
	st.c.credit(int32(len(data)))
	if code != 0 {
		return http2.StreamError{StreamID: st.id, Code: code}
	}
	return nil
}

// endRemote records END_STREAM carried by the request trailers.
func (st *Stream) endRemote() error {
	st.mu.Lock()
	bad := st.declLen >= 0 && st.recvd != st.declLen
	if !bad {
		st.remoteDone = true
		st.cond.Broadcast()
	}
	st.mu.Unlock()
	if bad {
		return http2.StreamError{StreamID: st.id, Code: ErrCodeProtocol}
	}
	return nil
}

// Read reads the request body. It returns io.EOF at its end and an error when the
// stream was reset or its connection closed.
func (st *Stream) Read(p []byte) (int, error) {
	st.mu.Lock()
	if st.expect {
		st.expect = false
		st.mu.Unlock()
		st.writeContinue()
		st.mu.Lock()
	}
	st.reading++
	for st.off == len(st.buf) {
		if st.rerr != nil {
			err := st.rerr
			st.reading--
			st.mu.Unlock()
			return 0, err
		}
		if st.remoteDone {
			st.eof = true
			st.reading--
			st.mu.Unlock()
			return 0, io.EOF
		}
		if !st.deadline.IsZero() {
			left := time.Until(st.deadline)
			if left <= 0 {
				st.reading--
				st.mu.Unlock()
				return 0, os.ErrDeadlineExceeded
			}
			st.armWake(left)
		}
		st.cond.Wait()
	}
	n := copy(p, st.buf[st.off:])
	st.off += n
	if st.off == len(st.buf) {
		st.buf, st.off = st.buf[:0], 0
	}
	var inc int32
	if !st.remoteDone {
		st.unacked += int32(n)
		if st.unacked >= int32(st.c.cfg.StreamWindow/4) {
			inc, st.unacked = st.unacked, 0
			st.recvWindow += inc
		}
	}
	st.reading--
	c := st.c
	st.mu.Unlock()
	c.credit(int32(n))
	if inc > 0 {
		c.w.windowUpdate(st.id, uint32(inc))
	}
	return n, nil
}

// SetReadDeadline bounds the body reads that have to wait for data: once t has
// passed they fail with os.ErrDeadlineExceeded (the zero time: no bound). Call it from
// the body reader's goroutine.
func (st *Stream) SetReadDeadline(t time.Time) { st.deadline = t }

// armWake makes the waiting body read look at its deadline again after d; mu is held.
func (st *Stream) armWake(d time.Duration) {
	if st.wake == nil {
		st.wake = time.AfterFunc(d, func() {
			st.mu.Lock()
			st.cond.Broadcast()
			st.mu.Unlock()
		})
		return
	}
	st.wake.Reset(d)
}

// Length returns the request body's length: 0 when there is none, -1 when it has no
// content-length.
func (st *Stream) Length() int64 { return st.bodyLen }

// Trailers returns the request trailers once Read returned io.EOF, or nil.
func (st *Stream) Trailers() *header.Map {
	if st.trailers.Len() == 0 {
		return nil
	}
	return &st.trailers
}

// Buffered reports whether the rest of the body has arrived, so that reading it cannot
// block.
func (st *Stream) Buffered() bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.remoteDone && st.rerr == nil
}

// abort ends the stream from outside its handler: its body reads and response writes
// fail with err and its Canceler fires.
func (st *Stream) abort(err error) {
	st.mu.Lock()
	if st.rerr == nil {
		st.rerr = err
	}
	dropped := st.dropBody()
	cn, fire := st.canceler, !st.cancelled
	st.cancelled = true
	st.mu.Unlock()
	st.c.credit(dropped)
	w := &st.c.w
	w.mu.Lock()
	if st.werr == nil {
		st.werr = err
	}
	st.ended = true
	w.cond.Broadcast()
	w.mu.Unlock()
	if fire && cn != nil {
		cn.Fire()
	}
}

// dropBody discards buffered body bytes, returning how many; mu is held.
func (st *Stream) dropBody() int32 {
	n := len(st.buf) - st.off
	st.buf, st.off = st.buf[:0], 0
	st.cond.Broadcast()
	return int32(n)
}

// WriteHeaders sends the response head; h holds :status. end means no body follows.
// A head followed by a body is held back until the first Flush, End or a full buffer,
// so that a response without body or trailers goes out as one HEADERS frame with
// END_STREAM (gRPC's trailers-only responses).
func (st *Stream) WriteHeaders(h *header.Map, end bool) error {
	status := h.Get(header.Status)
	if st.head || status == "204" || status == "304" {
		st.noBody = true
	}
	w := &st.c.w
	w.mu.Lock()
	if err := st.writable(); err != nil || st.sentHeaders {
		w.mu.Unlock()
		if err == nil {
			err = errEnded
		}
		return err
	}
	st.sentHeaders = true
	if !end {
		st.resp.CopyFrom(h)
		st.pending = true
		w.mu.Unlock()
		return nil
	}
	st.writeHead(h, true)
	w.mu.Unlock()
	w.kick()
	return nil
}

// writeHead encodes and writes a response head; the writer's mu is held.
func (st *Stream) writeHead(h *header.Map, end bool) {
	w := &st.c.w
	w.hbuf.Reset()
	w.enc.WriteField(hpack.HeaderField{Name: header.Status, Value: h.Get(header.Status)})
	encodeFields(w.enc, h)
	w.headerBlock(st.id, end)
	st.ended = end
}

// flushHead writes a held-back response head; the writer's mu is held.
func (st *Stream) flushHead(end bool) {
	if st.pending {
		st.pending = false
		st.writeHead(&st.resp, end)
	}
}

// encodeFields encodes the regular fields of h, leaving out those HTTP/2 forbids.
func encodeFields(enc *hpack.Encoder, h *header.Map) {
	for _, f := range h.Fields() {
		if header.IsPseudo(f.Name) || connectionSpecific(f.Name) {
			continue
		}
		enc.WriteField(hpack.HeaderField{Name: f.Name, Value: f.Value})
	}
}

// writable reports why the response cannot be written to; the writer's mu is held.
func (st *Stream) writable() error {
	switch {
	case st.werr != nil:
		return st.werr
	case st.c.w.err != nil:
		return st.c.w.err
	case st.ended:
		return errEnded
	}
	return nil
}

// Write sends response body bytes as DATA frames, as the flow-control windows allow;
// they go out with the next Flush or End.
func (st *Stream) Write(p []byte) (int, error) {
	if st.noBody {
		return len(p), nil
	}
	w := &st.c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	total := len(p)
	for len(p) > 0 {
		if err := st.writable(); err != nil {
			return total - len(p), err
		}
		st.flushHead(false)
		n := min(int32(min(len(p), int(w.maxFrame))), st.sendWindow, w.sendWindow)
		if n <= 0 || len(w.buf) >= maxBuffered {
			w.waiting++
			w.kick()
			w.cond.Wait()
			w.waiting--
			continue
		}
		w.fr.WriteData(st.id, false, p[:n])
		st.sendWindow -= n
		w.sendWindow -= n
		p = p[n:]
	}
	return total, nil
}

// Flush sends what was written.
func (st *Stream) Flush() error {
	w := &st.c.w
	w.mu.Lock()
	err := st.werr
	if err == nil && !st.ended {
		st.flushHead(false)
	}
	w.mu.Unlock()
	w.kick()
	return err
}

// End ends the response, with trailers when t is not empty.
func (st *Stream) End(t *header.Map) error {
	w := &st.c.w
	w.mu.Lock()
	if err := st.writable(); err != nil {
		w.mu.Unlock()
		return err
	}
	trailers := t != nil && t.Len() > 0
	if st.pending {
		st.flushHead(!trailers)
	}
	switch {
	case st.ended:
	case trailers:
		w.hbuf.Reset()
		encodeFields(w.enc, t)
		w.headerBlock(st.id, true)
	default:
		w.fr.WriteData(st.id, true, nil)
	}
	st.ended = true
	w.mu.Unlock()
	w.kick()
	return nil
}

// Reset aborts the stream with RST_STREAM (INTERNAL_ERROR).
func (st *Stream) Reset() {
	w := &st.c.w
	w.mu.Lock()
	send := !st.ended && w.err == nil
	st.ended = true
	if st.werr == nil {
		st.werr = errReset
	}
	if send {
		w.fr.WriteRSTStream(st.id, ErrCodeInternal)
	}
	w.cond.Broadcast()
	w.mu.Unlock()
	w.kick()
	st.mu.Lock()
	if st.rerr == nil {
		st.rerr = errReset
	}
	dropped := st.dropBody()
	st.mu.Unlock()
	st.c.credit(dropped)
}

// Upgrade is not available on HTTP/2 streams.
func (st *Stream) Upgrade() (io.ReadWriter, error) { return nil, errUpgrade }

// writeContinue sends the 100 (Continue) a request with expect: 100-continue waits for.
func (st *Stream) writeContinue() {
	w := &st.c.w
	w.mu.Lock()
	if st.writable() == nil && !st.sentHeaders {
		w.hbuf.Reset()
		w.enc.WriteField(hpack.HeaderField{Name: header.Status, Value: "100"})
		w.headerBlock(st.id, false)
	}
	w.mu.Unlock()
	w.kick()
}

// finish completes the stream once its handler returned: a response left open is
// ended (or reset when it never started), a request still being sent is refused with
// RST_STREAM (NO_ERROR) as RFC 9113 §8.1 allows, and the stream leaves the connection.
func (st *Stream) finish() {
	c, w := st.c, &st.c.w
	w.mu.Lock()
	reset, wrote := false, false
	if !st.ended && w.err == nil {
		wrote = true
		switch {
		case st.pending:
			st.flushHead(true)
		case st.sentHeaders:
			w.fr.WriteData(st.id, true, nil)
		default:
			w.fr.WriteRSTStream(st.id, ErrCodeInternal)
			reset = true
		}
	}
	st.ended = true
	w.mu.Unlock()
	st.mu.Lock()
	reuse := (st.bodyLen == 0 || st.eof) && st.reading == 0
	open := !st.remoteDone && st.rerr == nil
	if st.rerr == nil {
		st.rerr = errStreamClosed
	}
	dropped := st.dropBody()
	st.mu.Unlock()
	switch {
	case open && !reset:
		w.rst(st.id, ErrCodeNo)
	case wrote:
		w.kick()
	}
	c.credit(dropped)
	c.streamDone(st, reuse)
}
