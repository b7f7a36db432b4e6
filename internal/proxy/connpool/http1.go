package connpool

import (
	"context"
	"net"
	"sync"
	"time"

	"github.com/weftmesh/weft/internal/proxy/http1"
)

// Conn is an upstream HTTP/1 connection with its codec. It is owned by one request
// between Acquire and Release.
type Conn struct {
	net.Conn
	R *http1.Reader
	W *http1.Writer
	// Reused reports whether the connection served an earlier request.
	Reused bool

	pool     *HTTP1
	peek     *peeker
	requests int
	created  time.Time
	idleAt   time.Time
}

// HTTP1 is one host's HTTP/1 connection pool. Idle connections are reused most
// recently used first; requests that find no idle connection and no free connection
// slot wait, as pending requests, for one to be released.
type HTTP1 struct {
	opts Options

	mu      sync.Mutex
	idle    []*Conn
	waiters []chan *Conn // nil sent: a connection slot was reserved, dial
	closed  bool
}

// NewHTTP1 returns an empty pool.
func NewHTTP1(opts Options) *HTTP1 { return &HTTP1{opts: opts} }

// Acquire returns a connection for one request: an idle one, a new one, or one
// released by another request while this one waited. Errors are ErrOverflow, ErrClosed,
// a *ConnectError or the context's error.
func (p *HTTP1) Acquire(ctx context.Context) (*Conn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	for n := len(p.idle); n > 0; n = len(p.idle) {
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if stale, remote := p.stale(c); stale {
			p.destroy(c, !remote)
			p.mu.Lock()
			continue
		}
		c.Reused = true
		return c, nil
	}
	if p.opts.Breaker.Connections.TryAcquire() {
		p.mu.Unlock()
		return p.connect(ctx)
	}
	p.opts.Stats().CxOverflow.Inc()
	return p.wait(ctx) // unlocks
}

// AcquireNew returns a newly opened connection, never an idle one; it is used to
// re-send a request that failed on a reused connection.
func (p *HTTP1) AcquireNew(ctx context.Context) (*Conn, error) {
	if !p.opts.Breaker.Connections.TryAcquire() {
		p.opts.Stats().CxOverflow.Inc()
		p.mu.Lock()
		return p.wait(ctx) // unlocks
	}
	return p.connect(ctx)
}

// peekAfter is how long a connection must have been idle before Acquire checks its
// socket. A connection released a moment ago cannot have been closed by a peer that
// was still answering on it, except in a race the check could not win either (the
// router re-sends what is safe to re-send); under load, connections are reused within
// microseconds and the check would cost a syscall per request.
const peekAfter = 100 * time.Microsecond

// stale reports whether an idle connection must not be reused: idle too long, or
// closed (or sent unexpected bytes) while idle; remote says the peer closed it.
func (p *HTTP1) stale(c *Conn) (stale, remote bool) {
	idle := time.Since(c.idleAt)
	if p.opts.IdleTimeout > 0 && idle > p.opts.IdleTimeout {
		p.opts.Stats().CxIdleTimeout.Inc()
		return true, false
	}
	if idle < peekAfter {
		return false, false
	}
	closed := c.peek.closed()
	return closed, closed
}

// connect dials a new connection; the caller holds a connection slot.
func (p *HTTP1) connect(ctx context.Context) (*Conn, error) {
	nc, err := p.opts.dial(ctx)
	if err != nil {
		p.opts.Breaker.Connections.Release()
		p.handOffSlot()
		return nil, err
	}
	p.opts.Stats().CxHTTP1Total.Inc()
	return &Conn{Conn: nc, R: http1.NewReader(nc), W: http1.NewWriter(nc), pool: p, peek: newPeeker(nc), created: time.Now()}, nil
}

// wait queues the request until a connection is released to it. p.mu is held on entry.
func (p *HTTP1) wait(ctx context.Context) (*Conn, error) {
	if !p.opts.Breaker.Pending.TryAcquire() {
		p.mu.Unlock()
		p.opts.Stats().RqPendingOverflow.Inc()
		return nil, ErrOverflow
	}
	ch := make(chan *Conn, 1)
	p.waiters = append(p.waiters, ch)
	p.mu.Unlock()
	p.opts.Stats().RqPendingTotal.Inc()
	p.opts.Stats().RqPendingActive.Inc()
	defer func() {
		p.opts.Breaker.Pending.Release()
		p.opts.Stats().RqPendingActive.Dec()
	}()
	select {
	case c, ok := <-ch:
		return p.received(ctx, c, ok)
	case <-ctx.Done():
		if p.dequeue(ch) {
			return nil, ctx.Err()
		}
		c, ok := <-ch // released to us meanwhile: give it back
		if ok && c != nil {
			p.Release(c, true)
		} else if ok {
			p.opts.Breaker.Connections.Release()
			p.handOffSlot()
		}
		return nil, ctx.Err()
	}
}

func (p *HTTP1) received(ctx context.Context, c *Conn, ok bool) (*Conn, error) {
	switch {
	case !ok:
		return nil, ErrClosed
	case c == nil:
		return p.connect(ctx)
	}
	c.Reused = true
	return c, nil
}

func (p *HTTP1) dequeue(ch chan *Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			return true
		}
	}
	return false
}

// Release returns a connection after a request. reuse says the exchange ended cleanly
// (both messages complete, keep-alive on both sides); otherwise the connection is closed.
func (p *HTTP1) Release(c *Conn, reuse bool) {
	c.requests++
	if reuse && p.opts.MaxRequestsPerConnection > 0 && c.requests >= p.opts.MaxRequestsPerConnection {
		p.opts.Stats().CxMaxRequests.Inc()
		reuse = false
	}
	if !reuse {
		p.destroy(c, true)
		return
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		p.destroy(c, true)
		return
	}
	if len(p.waiters) > 0 {
		ch := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		ch <- c
		return
	}
	c.idleAt = time.Now()
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// destroy closes a connection, frees its slot and lets a waiter dial in its place.
func (p *HTTP1) destroy(c *Conn, local bool) {
	c.Close()
	p.opts.closed(c.created, local)
	p.handOffSlot()
}

// handOffSlot reserves a free connection slot for the oldest waiter, if any.
func (p *HTTP1) handOffSlot() {
	p.mu.Lock()
	if len(p.waiters) == 0 || !p.opts.Breaker.Connections.TryAcquire() {
		p.mu.Unlock()
		return
	}
	ch := p.waiters[0]
	p.waiters = p.waiters[1:]
	p.mu.Unlock()
	ch <- nil
}

// Idle returns the number of idle connections.
func (p *HTTP1) Idle() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.idle)
}

// Close closes the idle connections and fails the waiters; connections in use are
// closed when released.
func (p *HTTP1) Close() {
	p.mu.Lock()
	idle, waiters := p.idle, p.waiters
	p.idle, p.waiters, p.closed = nil, nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close()
		p.opts.closed(c.created, true)
	}
	for _, ch := range waiters {
		close(ch)
	}
}
