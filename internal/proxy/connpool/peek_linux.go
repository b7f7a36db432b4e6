package connpool

import (
	"crypto/tls"
	"net"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// peeker checks an idle connection's socket without consuming data. It is created
// once per connection so that the check allocates nothing.
type peeker struct {
	raw  syscall.RawConn
	dead bool
	buf  [1]byte
	fn   func(fd uintptr) bool
}

func newPeeker(c net.Conn) *peeker {
	if tc, ok := c.(*tls.Conn); ok {
		c = tc.NetConn()
	}
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &peeker{raw: raw}
	p.fn = p.peek
	return p
}

// peek does one non-blocking MSG_PEEK receive: EAGAIN means open and quiet; zero bytes
// means closed; bytes mean the peer sent something nobody asked for.
func (p *peeker) peek(fd uintptr) bool {
	n, _, errno := unix.Syscall6(unix.SYS_RECVFROM, fd, uintptr(unsafe.Pointer(&p.buf[0])), 1,
		unix.MSG_PEEK|unix.MSG_DONTWAIT, 0, 0)
	switch {
	case errno == unix.EAGAIN || errno == unix.EINTR:
		p.dead = false
	case errno != 0:
		p.dead = true
	default:
		p.dead = true // n == 0: EOF; n > 0: unexpected bytes
		_ = n
	}
	return true
}

// closed reports whether an idle connection's peer has closed it or sent bytes nobody
// asked for; either way it must not carry another request. It costs one syscall.
func (p *peeker) closed() bool {
	if p == nil {
		return false
	}
	if err := p.raw.Read(p.fn); err != nil {
		return true
	}
	return p.dead
}

// peerClosed checks a connection without a cached peeker.
func peerClosed(c net.Conn) bool { return newPeeker(c).closed() }
