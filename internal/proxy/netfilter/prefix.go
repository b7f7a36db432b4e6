package netfilter

import (
	"errors"
	"net"
)

// WithPrefix returns a connection whose reads return prefix (bytes already read from
// c, by a protocol sniffer) before reading from c.
func WithPrefix(c net.Conn, prefix []byte) net.Conn {
	if len(prefix) == 0 {
		return c
	}
	return &prefixConn{Conn: c, prefix: prefix}
}

type prefixConn struct {
	net.Conn
	prefix []byte
}

func (p *prefixConn) Read(b []byte) (int, error) {
	if len(p.prefix) > 0 {
		n := copy(b, p.prefix)
		p.prefix = p.prefix[n:]
		return n, nil
	}
	return p.Conn.Read(b)
}

// NetConn returns the wrapped connection.
func (p *prefixConn) NetConn() net.Conn { return p.Conn }

// CloseWrite half-closes the wrapped connection when it can be half-closed.
func (p *prefixConn) CloseWrite() error {
	if cw, ok := p.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return errors.ErrUnsupported
}
