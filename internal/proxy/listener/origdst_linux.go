package listener

import (
	"encoding/binary"
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// soOriginalDst is SO_ORIGINAL_DST (and IP6T_SO_ORIGINAL_DST), from netfilter.
const soOriginalDst = 80

// originalDst returns the destination a connection had before netfilter redirected it
// (iptables REDIRECT/DNAT), and false when it was not redirected.
func originalDst(c net.Conn) (netip.AddrPort, bool) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return netip.AddrPort{}, false
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, false
	}
	local, _ := c.LocalAddr().(*net.TCPAddr)
	v6 := local != nil && local.IP.To4() == nil
	var out netip.AddrPort
	var got bool
	raw.Control(func(fd uintptr) {
		var buf [28]byte // sockaddr_in6 is the larger of the two
		size := uint32(len(buf))
		level := unix.SOL_IP
		if v6 {
			level = unix.SOL_IPV6
		}
		_, _, e := unix.Syscall6(unix.SYS_GETSOCKOPT, fd, uintptr(level), soOriginalDst,
			uintptr(unsafe.Pointer(&buf[0])), uintptr(unsafe.Pointer(&size)), 0)
		if e != 0 {
			return
		}
		out, got = parseSockaddr(buf[:size])
	})
	return out, got
}

// parseSockaddr decodes a sockaddr_in or sockaddr_in6.
func parseSockaddr(b []byte) (netip.AddrPort, bool) {
	if len(b) < 8 {
		return netip.AddrPort{}, false
	}
	family := binary.NativeEndian.Uint16(b[0:2])
	port := binary.BigEndian.Uint16(b[2:4])
	switch {
	case family == unix.AF_INET:
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(b[4:8])), port), true
	case family == unix.AF_INET6 && len(b) >= 24:
		return netip.AddrPortFrom(netip.AddrFrom16([16]byte(b[8:24])).Unmap(), port), true
	}
	return netip.AddrPort{}, false
}
