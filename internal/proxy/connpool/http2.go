package connpool

import (
	"context"
	"sync"
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
}

// NewHTTP2 returns an empty pool. idle closes connections without streams after that
// long (0: never).
func NewHTTP2(opts Options) *HTTP2 {
	t := &http2.Transport{AllowHTTP: true, IdleConnTimeout: opts.IdleTimeout, StrictMaxConcurrentStreams: true}
	return &HTTP2{opts: opts, t: t}
}

// Acquire returns a connection with a stream reserved for one request.
func (p *HTTP2) Acquire(ctx context.Context) (*http2.ClientConn, error) {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil, ErrClosed
	}
	p.prune()
	for _, c := range p.conns {
		if c.cc.ReserveNewRequest() {
			p.mu.Unlock()
			return c.cc, nil
		}
	}
	p.mu.Unlock()
	if !p.opts.Breaker.Connections.TryAcquire() {
		p.opts.Stats.CxOverflow.Inc()
		p.opts.Stats.RqPendingOverflow.Inc()
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
	p.opts.Stats.CxHTTP2Total.Inc()
	cc.ReserveNewRequest()
	p.mu.Lock()
	p.conns = append(p.conns, &h2conn{cc: cc, created: time.Now()})
	p.mu.Unlock()
	return cc, nil
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
