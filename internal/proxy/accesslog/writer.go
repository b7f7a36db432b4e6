package accesslog

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// writer buffers entries for one output and writes them from its own goroutine, so
// that Log never waits for the disk.
type writer struct {
	name       string // the path, or "stdout" / "stderr"
	reopenable bool   // whether name is a file path that Reopen reopens
	limit      int    // bytes that may be pending
	flushAt    int    // pending bytes that trigger an early flush
	log        *slog.Logger

	mu     sync.Mutex
	buf    []byte // pending entries
	closed bool

	dropped atomic.Uint64
	kick    chan struct{}   // asks for an early flush
	reopen  chan chan error // asks for a reopen; the reply says how it went
	done    chan struct{}   // closed by close
	exited  chan struct{}   // closed when run returns

	// Owned by run.
	out      io.Writer
	file     *os.File // nil for stdout and stderr, which the writer does not close
	spare    []byte
	peak     int   // the most bytes one flush wrote since the last trim
	closeErr error // set by run before it exits
}

// write copies an entry into the pending buffer, or drops it when the buffer is full.
func (w *writer) write(p []byte) {
	w.mu.Lock()
	if w.closed || len(w.buf)+len(p) > w.limit {
		w.mu.Unlock()
		w.dropped.Add(1)
		return
	}
	if w.buf == nil {
		w.buf = make([]byte, 0, min(2*w.flushAt, w.limit))
	}
	w.buf = append(w.buf, p...)
	full := len(w.buf) >= w.flushAt
	w.mu.Unlock()
	if full {
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
}

// run flushes on every tick and early flush request, and serves reopen requests,
// until close.
func (w *writer) run(interval time.Duration) {
	defer close(w.exited)
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			w.flush()
			w.trim()
		case <-w.kick:
			w.flush()
		case reply := <-w.reopen:
			reply <- w.reopenFile()
		case <-w.done:
			w.flush()
			if w.file != nil {
				w.closeErr = w.file.Close()
			}
			return
		}
	}
}

// flush writes out the pending entries. The buffers are swapped under the lock and
// written without it, so Log continues into the other buffer meanwhile.
func (w *writer) flush() {
	w.mu.Lock()
	pending := w.buf
	w.buf = w.spare[:0]
	w.mu.Unlock()
	if len(pending) > 0 {
		if _, err := w.out.Write(pending); err != nil {
			w.log.Warn("access log write failed", "output", w.name, "bytes", len(pending), "error", err)
		}
	}
	w.peak = max(w.peak, len(pending))
	w.spare = pending[:0]
}

// trim runs every flush interval. When no flush in the interval found a full buffer,
// it releases a spare buffer grown under an earlier load; the buffers alternate, so
// both are released after two quiet intervals.
func (w *writer) trim() {
	if w.peak < w.flushAt && cap(w.spare) > 2*w.flushAt {
		w.spare = nil
	}
	w.peak = 0
}

// reopenFile flushes to the old file, then opens the path again. When the open fails
// the old file stays in use.
func (w *writer) reopenFile() error {
	w.flush()
	f, err := openLogFile(w.name)
	if err != nil {
		return fmt.Errorf("reopen %s: %w", w.name, err)
	}
	old := w.file
	w.file, w.out = f, f
	if err := old.Close(); err != nil {
		w.log.Warn("access log close failed", "output", w.name, "error", err)
	}
	return nil
}

// requestReopen asks run to reopen the file and waits for the result.
func (w *writer) requestReopen() error {
	reply := make(chan error, 1)
	select {
	case w.reopen <- reply:
	case <-w.exited:
		return errClosed
	}
	return <-reply
}

// close stops accepting entries, flushes, and waits for run to finish.
func (w *writer) close() error {
	w.mu.Lock()
	already := w.closed
	w.closed = true
	w.mu.Unlock()
	if !already {
		close(w.done)
	}
	<-w.exited
	if w.closeErr != nil {
		return fmt.Errorf("close %s: %w", w.name, w.closeErr)
	}
	return nil
}
