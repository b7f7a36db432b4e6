package config

import (
	"fmt"
	"net/netip"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

func init() {
	Support(&corev3.Address{}, "socket_address")
	Support(&corev3.SocketAddress{}, "address", "port_value", "protocol", "ipv4_compat")
}

// SocketAddress returns the host (an IP literal or a DNS name) and port of a, which must
// be a TCP socket address.
func SocketAddress(a *corev3.Address) (host string, port uint16, err error) {
	sa := a.GetSocketAddress()
	if sa == nil {
		return "", 0, fmt.Errorf("address: only socket_address is supported")
	}
	if sa.GetProtocol() != corev3.SocketAddress_TCP {
		return "", 0, fmt.Errorf("address %s: protocol %s is not supported", sa.GetAddress(), sa.GetProtocol())
	}
	if sa.GetPortValue() > 65535 {
		return "", 0, fmt.Errorf("address %s: port %d out of range", sa.GetAddress(), sa.GetPortValue())
	}
	return sa.GetAddress(), uint16(sa.GetPortValue()), nil
}

// IPAddress returns a as an IP address and port; a DNS name is an error.
func IPAddress(a *corev3.Address) (netip.AddrPort, error) {
	host, port, err := SocketAddress(a)
	if err != nil {
		return netip.AddrPort{}, err
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("address %q is not an IP address", host)
	}
	return netip.AddrPortFrom(ip.Unmap(), port), nil
}
