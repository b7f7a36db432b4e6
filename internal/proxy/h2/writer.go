package h2

import (
	"bytes"
	"net"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

const (
	// maxBuffered is how many frame bytes may wait for the writer goroutine before
	// DATA writers wait for it: the bound of a connection's outgoing buffer.
	maxBuffered = 256 << 10
	// maxControlBacklog bounds control frames (PING and SETTINGS acks, resets) queued
	// for a client that does not read them.
	maxControlBacklog = 4 << 20
	// keepBuffer is the largest buffer kept for the next burst.
	keepBuffer = 1 << 20
)

// writer is a connection's outgoing side. Frames are appended to buf under mu by the
// stream handlers and the reader; the writer goroutine swaps buf out and writes it in
// one call, so that whatever accumulated while it was writing goes out together.
type writer struct {
	nc   net.Conn
	mu   sync.Mutex
	cond sync.Cond // send window opened, or buffer space freed
	fr   *http2.Framer
	enc  *hpack.Encoder
	hbuf bytes.Buffer
	buf  []byte

	err           error // set when the connection cannot be written any more
	sendWindow    int32 // connection send window
	initialWindow int32 // the client's SETTINGS_INITIAL_WINDOW_SIZE
	maxFrame      uint32
	waiting       int // goroutines waiting for buffer space

	kickc  chan struct{}
	done   chan struct{}
	exited chan struct{}
}

func (w *writer) init(nc net.Conn) {
	w.nc = nc
	w.cond.L = &w.mu
	w.fr = http2.NewFramer(w, nil)
	w.enc = hpack.NewEncoder(&w.hbuf)
	w.sendWindow, w.initialWindow = defaultWindow, defaultWindow
	w.maxFrame = defaultFrameSize
	w.kickc = make(chan struct{}, 1)
	w.done = make(chan struct{})
	w.exited = make(chan struct{})
}

// Write appends a frame the Framer built; it is called with mu held.
func (w *writer) Write(p []byte) (int, error) {
	w.buf = append(w.buf, p...)
	return len(p), nil
}

// kick wakes the writer goroutine.
func (w *writer) kick() {
	select {
	case w.kickc <- struct{}{}:
	default:
	}
}

// loop writes what accumulates in buf until stop.
func (w *writer) loop() {
	defer close(w.exited)
	var out []byte
	for {
		select {
		case <-w.kickc:
		case <-w.done:
			return
		}
		w.mu.Lock()
		out, w.buf = w.buf, out[:0]
		if w.waiting > 0 {
			w.cond.Broadcast()
		}
		w.mu.Unlock()
		if len(out) == 0 {
			continue
		}
		if _, err := w.nc.Write(out); err != nil {
			w.fail(err)
			w.nc.Close() // the reader stops too
			return
		}
		if cap(out) > keepBuffer {
			out = nil
		}
	}
}

func (w *writer) fail(err error) {
	w.mu.Lock()
	if w.err == nil {
		w.err = err
	}
	w.cond.Broadcast()
	w.mu.Unlock()
}

// stop ends the writer goroutine and, when flush is set, writes what is left (a
// GOAWAY) within a second.
func (w *writer) stop(flush bool) {
	w.nc.SetWriteDeadline(time.Now().Add(time.Second))
	close(w.done)
	<-w.exited
	w.mu.Lock()
	defer w.mu.Unlock()
	if flush && w.err == nil && len(w.buf) > 0 {
		w.nc.Write(w.buf)
	}
	if w.err == nil {
		w.err = errConnClosed
	}
	w.buf = nil
	w.cond.Broadcast()
}

// control queues a control frame written by fn. A client that lets them pile up
// without reading gets ENHANCE_YOUR_CALM.
func (w *writer) control(fn func(fr *http2.Framer)) error {
	w.mu.Lock()
	if len(w.buf) > maxControlBacklog {
		w.mu.Unlock()
		return http2.ConnectionError(ErrCodeCalm)
	}
	fn(w.fr)
	w.mu.Unlock()
	w.kick()
	return nil
}

func (w *writer) windowUpdate(id, inc uint32) {
	w.mu.Lock()
	w.fr.WriteWindowUpdate(id, inc)
	w.mu.Unlock()
	w.kick()
}

func (w *writer) rst(id uint32, code ErrCode) {
	w.mu.Lock()
	w.fr.WriteRSTStream(id, code)
	w.mu.Unlock()
	w.kick()
}

// headerBlock writes the block encoded in hbuf as HEADERS and CONTINUATION frames no
// larger than the client allows. mu is held.
func (w *writer) headerBlock(id uint32, end bool) {
	block := w.hbuf.Bytes()
	n := min(len(block), int(w.maxFrame))
	w.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: block[:n], EndStream: end, EndHeaders: n == len(block)})
	for block = block[n:]; len(block) > 0; block = block[n:] {
		n = min(len(block), int(w.maxFrame))
		w.fr.WriteContinuation(id, n == len(block), block[:n])
	}
}
