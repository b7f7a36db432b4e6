package connpool

import (
	"context"
	"net"
	"sync"
	"time"
)

// TCP opens plain upstream connections for tcp_proxy: one per downstream connection,
// under the max_connections circuit breaker.
type TCP struct {
	opts Options
}

// NewTCP returns a TCP connector for one host.
func NewTCP(opts Options) *TCP { return &TCP{opts: opts} }

// Connect opens a connection. Closing it returns its circuit-breaker slot. Errors are
// ErrOverflow or a *ConnectError.
func (p *TCP) Connect(ctx context.Context) (net.Conn, error) {
	if !p.opts.Breaker.Connections.TryAcquire() {
		p.opts.Stats().CxOverflow.Inc()
		return nil, ErrOverflow
	}
	c, err := p.opts.dial(ctx)
	if err != nil {
		p.opts.Breaker.Connections.Release()
		return nil, err
	}
	return &tcpConn{Conn: c, p: p, created: time.Now()}, nil
}

type tcpConn struct {
	net.Conn
	p       *TCP
	created time.Time
	once    sync.Once
}

// Close closes the connection and counts it once.
func (c *tcpConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.p.opts.closed(c.created, true) })
	return err
}

// CloseWrite half-closes the connection when the transport allows it.
func (c *tcpConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
