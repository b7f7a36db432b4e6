package connpool

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
)

// HTTP2 is one host's HTTP/2 connection pool: requests are streams multiplexed on
// shared connections; a new connection is opened when every open one is at its
// stream limit, within the max_connections circuit breaker.
type HTTP2 struct {
	opts Options
	t    *http2.Transport

	mu     sync.Mutex
	conns  []*h2conn
	closed bool
}

type h2conn struct {
	cc      *http2.ClientConn
	created time.Time
	active  atomic.Int64 // streams in flight
}

// Stream is a reserved stream slot on an HTTP/2 connection. Done must be called when
// the stream ends.
type Stream struct {
	*http2.ClientConn
	conn *h2conn
}

// Done releases the stream's slot.
func (s *Stream) Done() { s.conn.active.Add(-1) }

// NewHTTP2 returns an empty pool. Options.IdleTimeout closes connections without
// streams after that long (0: never); Options.MaxConcurrentStreams caps streams per
// connection below what the upstream allows.
func NewHTTP2(opts Options) *HTTP2 {
	t := &http2.Transport{AllowHTTP: true, IdleConnTimeout: opts.IdleTimeout, StrictMaxConcurrentStreams: true}
	return &HTTP2{opts: opts, t: t}
}

// Acquire returns a stream slot for one request on an open connection, or on a new one
// when every open connection is at its stream limit.
func (p *HTTP2) Acquire(ctx context.Context) (*Stream, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.prune()
	for _, c := range p.conns {
		if p.reserve(c) {
			p.mu.Unlock()
			return &Stream{ClientConn: c.cc, conn: c}, nil
		}
	}
	p.mu.Unlock()
	if !p.opts.Breaker.Connections.TryAcquire() {
		p.opts.Stats().CxOverflow.Inc()
		p.opts.Stats().RqPendingOverflow.Inc()
		return nil, ErrOverflow
	}
	nc, err := p.opts.dial(ctx)
	if err != nil {
		p.opts.Breaker.Connections.Release()
		return nil, err
	}
	cc, err := p.t.NewClientConn(nc)
	if err != nil {
		nc.Close()
		p.opts.closed(time.Now(), true)
		return nil, &ConnectError{Err: err}
	}
	p.opts.Stats().CxHTTP2Total.Inc()
	c := &h2conn{cc: cc, created: time.Now()}
	c.active.Add(1)
	cc.ReserveNewRequest()
	p.mu.Lock()
	p.conns = append(p.conns, c)
	p.mu.Unlock()
	return &Stream{ClientConn: cc, conn: c}, nil
}

// reserve takes a stream slot on c if both the configured cap and the upstream allow.
func (p *HTTP2) reserve(c *h2conn) bool {
	if limit := p.opts.MaxConcurrentStreams; limit > 0 && c.active.Load() >= limit {
		return false
	}
	if !c.cc.ReserveNewRequest() {
		return false
	}
	c.active.Add(1)
	return true
}

// prune drops closed connections. p.mu is held.
func (p *HTTP2) prune() {
	j := 0
	for _, c := range p.conns {
		if c.cc.State().Closed {
			p.opts.closed(c.created, false)
			continue
		}
		p.conns[j] = c
		j++
	}
	clear(p.conns[j:])
	p.conns = p.conns[:j]
}

// Close shuts the pool: idle connections close now, busy ones when their streams end.
func (p *HTTP2) Close() {
	p.mu.Lock()
	conns := p.conns
	p.conns, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range conns {
		c.cc.Shutdown(context.Background())
		p.opts.closed(c.created, true)
	}
}
