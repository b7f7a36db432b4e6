package hcm

import (
	"errors"
	"net"
	"sync"
	"time"
)

// watchAfter is how long a request may run before the connection manager starts
// watching for its client to hang up. Quick requests never pay for the watch.
const watchAfter = 100 * time.Millisecond

// aLongTimeAgo interrupts a blocked read.
var aLongTimeAgo = time.Unix(1, 0)

// peerWatch notices an HTTP/1 client that closes its connection while its request is
// still being served: a one-byte read on the socket, started only for requests that
// last. End of file before the whole response went out aborts the stream (DC): its
// context is cancelled and its upstream connection closed. A byte read is the start of a
// pipelined request and is put back.
type peerWatch struct {
	hc    *h1conn
	timer *time.Timer
	mu    sync.Mutex
	state int // watchIdle, watchArmed, watchReading
	done  chan struct{}
	got   [1]byte
	n     int
	gone  bool
}

const (
	watchIdle = iota
	watchArmed
	watchReading
)

func newPeerWatch(hc *h1conn) *peerWatch {
	w := &peerWatch{hc: hc}
	w.timer = time.AfterFunc(time.Hour, w.read)
	w.timer.Stop()
	return w
}

// arm starts the watch after watchAfter unless stop comes first.
func (w *peerWatch) arm() {
	w.mu.Lock()
	w.state, w.n, w.gone = watchArmed, 0, false
	w.mu.Unlock()
	w.timer.Reset(watchAfter)
}

// read runs on the timer's goroutine: it blocks until the client sends a byte, closes,
// or stop interrupts it.
func (w *peerWatch) read() {
	w.mu.Lock()
	if w.state != watchArmed {
		w.mu.Unlock()
		return
	}
	w.state, w.done = watchReading, make(chan struct{})
	w.mu.Unlock()
	n, err := w.hc.c.Conn.Read(w.got[:])
	var ne net.Error
	if n == 0 && err != nil && !(errors.As(err, &ne) && ne.Timeout()) {
		// The stream's flags are its goroutine's: finish adds DC when stop reports this.
		w.gone = true
		if !w.hc.responded.Load() {
			w.hc.abort.Fire()
		}
	}
	w.mu.Lock()
	w.n, w.state = n, watchIdle
	close(w.done)
	w.mu.Unlock()
}

// stop ends the watch when the stream is done; a byte the watch read is handed back to
// the codec. It reports whether the client went away.
func (w *peerWatch) stop() bool {
	w.mu.Lock()
	switch w.state {
	case watchArmed:
		w.state = watchIdle
		w.mu.Unlock()
		w.timer.Stop()
		return false
	case watchReading:
		done := w.done
		w.mu.Unlock()
		w.hc.c.SetReadDeadline(aLongTimeAgo)
		<-done
		w.hc.c.SetReadDeadline(w.hc.deadline)
	default:
		w.mu.Unlock()
	}
	if w.n > 0 {
		w.hc.r.Unread(w.got[:w.n])
		w.n = 0
	}
	return w.gone
}
