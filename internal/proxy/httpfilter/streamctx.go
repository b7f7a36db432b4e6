package httpfilter

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftmesh/weft/internal/proxy/connpool"
)

// streamContext is a cancellable context reused for every stream of an HTTP/1
// connection. Its Done channel is made only when someone asks for it, so a request that
// nobody waits on costs nothing.
type streamContext struct {
	parent context.Context
	mu     sync.Mutex
	done   chan struct{}
	err    error
	stop   func() bool // unregisters the parent's AfterFunc
	gen    uint64      // counts resets: a parent's AfterFunc cancels only its own stream
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (c *streamContext) Deadline() (time.Time, bool) { return c.parent.Deadline() }
func (c *streamContext) Value(key any) any           { return c.parent.Value(key) }

// Done returns a channel closed when the stream is cancelled or the connection's
// context ends.
func (c *streamContext) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		if c.err != nil {
			return closedChan
		}
		c.done = make(chan struct{})
		parent, gen := c.parent, c.gen
		c.stop = context.AfterFunc(parent, func() { c.cancelGen(gen, parent.Err()) })
	}
	return c.done
}

// Err returns why the stream was cancelled, or nil.
func (c *streamContext) Err() error {
	c.mu.Lock()
	err := c.err
	c.mu.Unlock()
	if err == nil {
		return c.parent.Err()
	}
	return err
}

func (c *streamContext) cancel(err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelLocked(err)
}

// cancelGen cancels the stream of generation gen, if it is still the current one: the
// parent's AfterFunc may run after the connection has moved on to its next stream.
func (c *streamContext) cancelGen(gen uint64, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen == gen {
		c.cancelLocked(err)
	}
}

func (c *streamContext) cancelLocked(err error) {
	if c.err != nil {
		return
	}
	c.err = err
	if c.done != nil {
		close(c.done)
	}
}

// reset prepares the context for the next stream.
func (c *streamContext) reset(parent context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stop != nil {
		c.stop()
	}
	// The parent is the connection's context, the same for each of its streams: it is
	// written only when it changes, so that Deadline and Value read it without the lock.
	if c.parent != parent {
		c.parent = parent
	}
	c.done, c.err, c.stop = nil, nil, nil
	c.gen++
}

// Abort ends a stream whose downstream went away: its context is cancelled and the
// upstream connection it waits on is closed. It is safe to call from another goroutine.
type Abort struct {
	ctx      streamContext
	upstream atomic.Pointer[connpool.Conn]
	aborted  atomic.Bool
	timeout  atomic.Pointer[TimeoutError] // why a timer ended the stream
	timer    *time.Timer                  // the stream's duration timer, if armed
}

// Context returns the stream's context.
func (a *Abort) Context() context.Context { return &a.ctx }

// Reset prepares for a new stream on the connection whose context is parent.
func (a *Abort) Reset(parent context.Context) {
	a.ctx.reset(parent)
	a.upstream.Store(nil)
	a.aborted.Store(false)
	a.timeout.Store(nil)
}

// StartTimer ends the stream with te after d, unless the stream ended first (StopTimer,
// or Reset for the next stream). Only the stream's own goroutine starts and stops the
// timer.
func (a *Abort) StartTimer(d time.Duration, te *TimeoutError) {
	a.ctx.mu.Lock()
	gen := a.ctx.gen
	a.ctx.mu.Unlock()
	a.timer = time.AfterFunc(d, func() { a.fireGen(gen, te) })
}

// StopTimer stops the stream's timer.
func (a *Abort) StopTimer() {
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
}

// Timeout returns the timeout that ended the stream, or nil.
func (a *Abort) Timeout() *TimeoutError { return a.timeout.Load() }

// fireGen aborts the stream of generation gen with te, if it is still the current one.
// It all happens under the context's lock, so that the next stream cannot begin
// halfway through.
func (a *Abort) fireGen(gen uint64, te *TimeoutError) {
	c := &a.ctx
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen || c.err != nil {
		return
	}
	a.timeout.Store(te)
	a.aborted.Store(true)
	c.cancelLocked(context.Canceled)
	if u := a.upstream.Load(); u != nil {
		u.Close()
	}
}

// Fire aborts the stream.
func (a *Abort) Fire() {
	a.aborted.Store(true)
	a.ctx.cancel(context.Canceled)
	if c := a.upstream.Load(); c != nil {
		c.Close()
	}
}

// Fired reports whether the stream was aborted.
func (a *Abort) Fired() bool { return a.aborted.Load() }

// watchUpstream registers the upstream connection an abort must close (nil clears it).
func (a *Abort) watchUpstream(c *connpool.Conn) {
	a.upstream.Store(c)
	if c != nil && a.aborted.Load() {
		c.Close()
	}
}
