//go:build !linux

package listener

import (
	"net"
	"net/netip"
)

// originalDst is only available on Linux (netfilter).
func originalDst(net.Conn) (netip.AddrPort, bool) { return netip.AddrPort{}, false }
