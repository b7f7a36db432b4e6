package iptables

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// Mode is how inbound connections are handed to the proxy.
type Mode string

// The inbound interception modes istio-iptables knows. The empty mode behaves as
// REDIRECT.
const (
	ModeRedirect Mode = "REDIRECT"
	ModeTProxy   Mode = "TPROXY"
)

// Well-known ports and marks, as Istio uses them.
const (
	DefaultProxyPort          = 15001
	DefaultInboundCapturePort = 15006
	DefaultInboundTunnelPort  = 15008
	DNSListenerPort           = 15053
	DefaultProxyUser          = "1337"
	DefaultTProxyMark         = 1337
	DefaultTProxyRouteTable   = 133

	// maxOwnerGroupsInclude is Istio's limit on groups to capture.
	maxOwnerGroupsInclude = 64

	// outboundMark marks, in TPROXY mode, the proxy's own connections to the app over
	// the pod IP so that they are not captured again.
	outboundMark = "1338"
)

// Ports is a list of ports, or every port when All is set (written "*").
type Ports struct {
	All  bool
	List []uint16
}

// Prefixes is a list of CIDR ranges, or every address when All is set (written "*").
type Prefixes struct {
	All  bool
	List []netip.Prefix
}

// Config is the capture configuration: istio-iptables' flags and environment
// settings as plain values. Start from DefaultConfig (istio-iptables' defaults) or
// SidecarConfig (what the injector asks for); the zero value has no ports and is not
// valid.
type Config struct {
	ProxyPort          uint16 // -p: outbound TCP is redirected here (15001)
	InboundCapturePort uint16 // -z: inbound TCP is redirected here (15006)
	InboundTunnelPort  uint16 // -e: the HBONE tunnel port, never captured (15008)

	ProxyUIDs []string // -u: owners whose traffic is the proxy's own (1337)
	ProxyGIDs []string // -g: groups whose traffic is the proxy's own (1337)

	Mode             Mode   // -m: REDIRECT (or empty) or TPROXY
	TProxyMark       uint32 // -t: the mark for TPROXY-captured packets (1337)
	TProxyRouteTable uint32 // -r: the route table for marked packets (133)

	InboundPorts        Ports    // -b: inbound ports to capture
	InboundPortsExclude []uint16 // -d: inbound ports left alone when InboundPorts.All

	OutboundIPRanges        Prefixes       // -i: outbound destinations to capture
	OutboundIPRangesExclude []netip.Prefix // -x: outbound destinations left alone
	OutboundPorts           []uint16       // -q: outbound ports captured whatever the destination
	OutboundPortsExclude    []uint16       // -o: outbound ports left alone

	KubeVirtInterfaces []string // -k: interfaces whose inbound traffic is treated as outbound
	ExcludeInterfaces  []string // -c: interfaces left alone in both directions

	// EnableIPv6 also programs ip6tables, like istio-iptables on an IPv6 pod.
	EnableIPv6 bool

	RedirectDNS   bool     // --redirect-dns: send DNS to the agent on 15053
	CaptureAllDNS bool     // --capture-all-dns: all port-53 traffic, not only to DNSServers
	DNSServersV4  []string // the pod's IPv4 resolvers (from /etc/resolv.conf)
	DNSServersV6  []string // the pod's IPv6 resolvers

	DropInvalid bool // --drop-invalid: drop conntrack-INVALID packets instead of resetting

	// OwnerGroupsInclude, when not empty, limits outbound capture to traffic owned by
	// these groups (names or GIDs). Empty means every group, like "*".
	OwnerGroupsInclude []string
	// OwnerGroupsExclude exempts traffic owned by these groups from outbound capture.
	// It applies only when OwnerGroupsInclude is empty.
	OwnerGroupsExclude []string

	// HostIPv4LoopbackCIDR is the loopback range that marks traffic meant for the app
	// itself (ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR, 127.0.0.1/32).
	HostIPv4LoopbackCIDR netip.Prefix
}

// DefaultConfig returns istio-iptables' defaults: ports 15001/15006/15008, proxy
// uid and gid 1337, TPROXY mark 1337 and table 133, loopback 127.0.0.1/32, and
// nothing captured until InboundPorts and OutboundIPRanges are set.
func DefaultConfig() Config {
	return Config{
		ProxyPort:            DefaultProxyPort,
		InboundCapturePort:   DefaultInboundCapturePort,
		InboundTunnelPort:    DefaultInboundTunnelPort,
		ProxyUIDs:            []string{DefaultProxyUser},
		ProxyGIDs:            []string{DefaultProxyUser},
		TProxyMark:           DefaultTProxyMark,
		TProxyRouteTable:     DefaultTProxyRouteTable,
		HostIPv4LoopbackCIDR: netip.MustParsePrefix("127.0.0.1/32"),
	}
}

// SidecarConfig returns the configuration the Istio sidecar injector passes to
// istio-init: DefaultConfig with every inbound port and every outbound address
// captured, except the agent's ports 15090 (Prometheus), 15021 (health) and 15020
// (merged metrics).
func SidecarConfig() Config {
	c := DefaultConfig()
	c.InboundPorts = Ports{All: true}
	c.InboundPortsExclude = []uint16{15090, 15021, 15020}
	c.OutboundIPRanges = Prefixes{All: true}
	return c
}

// Validate reports the first setting that cannot be turned into rules.
func (c *Config) Validate() error {
	var errs []error
	if c.ProxyPort == 0 || c.InboundCapturePort == 0 || c.InboundTunnelPort == 0 {
		errs = append(errs, errors.New("proxy, inbound capture and inbound tunnel ports must be set"))
	}
	if c.Mode != "" && c.Mode != ModeRedirect && c.Mode != ModeTProxy {
		errs = append(errs, fmt.Errorf("interception mode %q: want REDIRECT or TPROXY", c.Mode))
	}
	if len(c.ProxyUIDs) == 0 && len(c.ProxyGIDs) == 0 {
		errs = append(errs, errors.New("no proxy uid or gid: the proxy's own traffic would loop"))
	}
	if lb := c.HostIPv4LoopbackCIDR; !lb.IsValid() || !lb.Addr().Is4() || !lb.Addr().IsLoopback() || lb.Bits() < 8 {
		errs = append(errs, fmt.Errorf("ipv4 loopback cidr %q: want an IPv4 loopback range of /8 to /32", lb))
	}
	if n := len(c.OwnerGroupsInclude); n > maxOwnerGroupsInclude {
		// They become one rule with a match per group.
		errs = append(errs, fmt.Errorf("%d owner groups to include: at most %d", n, maxOwnerGroupsInclude))
	}
	if len(c.OwnerGroupsInclude) > 0 && len(c.OwnerGroupsExclude) > 0 {
		errs = append(errs, errors.New("owner groups: give groups to include or groups to exclude, not both"))
	}
	errs = append(errs, checkAddrs(c.DNSServersV4, IPv4), checkAddrs(c.DNSServersV6, IPv6))
	return errors.Join(errs...)
}

// checkAddrs reports the first of addrs that is not an address of family f.
func checkAddrs(addrs []string, f Family) error {
	for _, s := range addrs {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("dns server: %w", err)
		}
		if a.Is4() != (f == IPv4) {
			return fmt.Errorf("dns server %s is not an %s address", s, f)
		}
	}
	return nil
}

// tproxy reports whether inbound capture uses TPROXY.
func (c *Config) tproxy() bool { return c.Mode == ModeTProxy }

// SplitList splits a comma-separated istio-iptables list, dropping empty items and
// surrounding spaces ("6000,7000," is two items).
func SplitList(s string) []string {
	var out []string
	for _, item := range strings.Split(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// ParsePortList parses a comma-separated list of ports.
func ParsePortList(s string) ([]uint16, error) {
	var ports []uint16
	for _, item := range SplitList(s) {
		p, err := strconv.ParseUint(item, 10, 16)
		if err != nil || p == 0 {
			return nil, fmt.Errorf("port %q: not a port number", item)
		}
		ports = append(ports, uint16(p))
	}
	return ports, nil
}

// ParsePorts parses a comma-separated list of ports, or "*" for every port.
func ParsePorts(s string) (Ports, error) {
	if strings.TrimSpace(s) == "*" {
		return Ports{All: true}, nil
	}
	list, err := ParsePortList(s)
	return Ports{List: list}, err
}

// ParsePrefixList parses a comma-separated list of CIDR ranges.
func ParsePrefixList(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, item := range SplitList(s) {
		p, err := netip.ParsePrefix(item)
		if err != nil {
			return nil, fmt.Errorf("ip range: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// ParsePrefixes parses a comma-separated list of CIDR ranges, or "*" for every
// address.
func ParsePrefixes(s string) (Prefixes, error) {
	if strings.TrimSpace(s) == "*" {
		return Prefixes{All: true}, nil
	}
	list, err := ParsePrefixList(s)
	return Prefixes{List: list}, err
}

// SplitAddrs sorts addresses (such as resolv.conf's nameservers) into IPv4 and IPv6,
// keeping each as written. Unparseable addresses are an error.
func SplitAddrs(addrs []string) (v4, v6 []string, err error) {
	for _, s := range addrs {
		a, perr := netip.ParseAddr(s)
		switch {
		case perr != nil:
			return nil, nil, fmt.Errorf("address: %w", perr)
		case a.Is4() || a.Is4In6():
			v4 = append(v4, a.Unmap().String())
		default:
			v6 = append(v6, s)
		}
	}
	return v4, v6, nil
}
