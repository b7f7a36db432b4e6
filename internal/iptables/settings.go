package iptables

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"strconv"
	"strings"
)

// Setting is one istio-iptables setting: a flag (with the environment variable
// named after it) or an environment-only variable.
type Setting struct {
	// Flag is the long flag name; "" for environment-only settings.
	Flag string
	// Short is the one-letter flag, if any.
	Short string
	// Env lists the environment variables that set it when the flag is not given,
	// first one set wins: the flag name in upper case with "_" (ENVOY_PORT), then
	// the older names Istio also reads (ISTIO_META_DNS_CAPTURE).
	Env []string
	// Bool marks on/off settings.
	Bool bool
	// Default is the value used when neither the flag nor the environment is set.
	Default string
	// Usage is the flag's help text.
	Usage string
}

// Name returns the flag name, or the environment variable for settings without one.
func (s Setting) Name() string {
	if s.Flag != "" {
		return s.Flag
	}
	return s.Env[0]
}

// Settings lists the capture settings with istio-iptables' flag names, shorthands,
// environment variables and defaults, plus weft's --ipv6 and --dns-servers (Istio
// takes those from the pod's IP and /etc/resolv.conf).
func Settings() []Setting {
	list := []Setting{
		{Flag: "envoy-port", Short: "p", Default: "15001", Usage: "port to which all outbound TCP traffic is redirected"},
		{Flag: "inbound-capture-port", Short: "z", Default: "15006", Usage: "port to which all inbound TCP traffic is redirected"},
		{Flag: "inbound-tunnel-port", Short: "e", Default: "15008", Usage: "the tunnel (HBONE) port, never captured"},
		{Flag: "proxy-uid", Short: "u", Default: "1337", Usage: "comma separated UIDs whose traffic is not captured (the proxy's)"},
		{Flag: "proxy-gid", Short: "g", Usage: "comma separated GIDs whose traffic is not captured (default: the UIDs)"},
		{Flag: "istio-inbound-interception-mode", Short: "m", Usage: `inbound interception mode, "REDIRECT" or "TPROXY"`},
		{Flag: "istio-inbound-tproxy-mark", Short: "t", Default: "1337", Usage: "mark for inbound packets in TPROXY mode"},
		{Flag: "istio-inbound-tproxy-route-table", Short: "r", Default: "133", Usage: "route table for marked packets in TPROXY mode"},
		{Flag: "istio-inbound-ports", Short: "b", Usage: `comma separated inbound ports to capture, "*" for all; empty captures none`},
		{Flag: "istio-local-exclude-ports", Short: "d", Usage: `comma separated inbound ports not to capture when -b is "*"`},
		{Flag: "istio-service-cidr", Short: "i", Usage: `comma separated outbound IP ranges to capture, "*" for all; empty captures none`},
		{Flag: "istio-service-exclude-cidr", Short: "x", Usage: "comma separated outbound IP ranges not to capture"},
		{Flag: "istio-outbound-ports", Short: "q", Usage: "comma separated outbound ports to capture whatever the destination"},
		{Flag: "istio-local-outbound-ports-exclude", Short: "o", Usage: "comma separated outbound ports not to capture"},
		{Flag: "kube-virt-interfaces", Short: "k", Usage: "comma separated virtual interfaces whose inbound traffic is treated as outbound"},
		{Flag: "istio-exclude-interfaces", Short: "c", Usage: "comma separated interfaces whose traffic is never captured"},
		{Flag: "redirect-dns", Bool: true, Env: []string{"ISTIO_META_DNS_CAPTURE"}, Usage: "send DNS for the pod's resolvers to the agent on 15053"},
		{Flag: "capture-all-dns", Bool: true, Usage: "with --redirect-dns, capture all port-53 traffic, not only to the resolvers"},
		{Flag: "drop-invalid", Bool: true, Env: []string{"INVALID_DROP"}, Usage: "drop conntrack-INVALID packets instead of resetting the connection"},
		{Flag: "ipv6", Bool: true, Env: []string{"ISTIO_ENABLE_IPV6"}, Usage: "also program ip6tables (default: on when the first global address is IPv6)"},
		{Flag: "dns-servers", Usage: "comma separated resolvers to capture with --redirect-dns (default: from /etc/resolv.conf)"},
		{Env: []string{"ISTIO_OUTBOUND_OWNER_GROUPS"}, Default: "*"},
		{Env: []string{"ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE"}},
		{Env: []string{"ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR"}, Default: "127.0.0.1/32"},
	}
	for i, s := range list {
		if s.Flag != "" {
			list[i].Env = append([]string{strings.ToUpper(strings.ReplaceAll(s.Flag, "-", "_"))}, s.Env...)
		}
		if s.Bool && s.Default == "" {
			list[i].Default = "false"
		}
	}
	return list
}

// Configure builds a Config from setting values: values holds what was given on the
// command line (by Setting.Name); what is missing is read with lookupEnv (nil reads
// nothing), and what is still missing takes the default. As in istio-iptables, the
// proxy GIDs default to the proxy UIDs.
func Configure(values map[string]string, lookupEnv func(string) (string, bool)) (Config, error) {
	c := DefaultConfig()
	gidGiven := false
	for _, s := range Settings() {
		v, ok := values[s.Name()]
		for _, e := range s.Env {
			if ok || lookupEnv == nil {
				break
			}
			v, ok = lookupEnv(e)
		}
		if !ok {
			v = s.Default
		}
		gidGiven = gidGiven || (s.Flag == "proxy-gid" && v != "")
		if err := c.set(s.Name(), v); err != nil {
			return Config{}, fmt.Errorf("%s: %w", s.Name(), err)
		}
	}
	if !gidGiven {
		c.ProxyGIDs = c.ProxyUIDs
	}
	return c, nil
}

// ReadResolvConf returns the nameserver addresses of a resolv.conf.
func ReadResolvConf(r io.Reader) ([]string, error) {
	var servers []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "nameserver" {
			servers = append(servers, f[1])
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read resolv.conf: %w", err)
	}
	return servers, nil
}

// set applies one setting's text value.
func (c *Config) set(name, v string) (err error) {
	v = strings.TrimSpace(v)
	switch name {
	case "envoy-port":
		return parsePort(v, &c.ProxyPort)
	case "inbound-capture-port":
		return parsePort(v, &c.InboundCapturePort)
	case "inbound-tunnel-port":
		return parsePort(v, &c.InboundTunnelPort)
	case "istio-inbound-interception-mode":
		return c.setMode(v)
	case "istio-inbound-tproxy-mark":
		return parseUint32(v, &c.TProxyMark)
	case "istio-inbound-tproxy-route-table":
		return parseUint32(v, &c.TProxyRouteTable)
	case "redirect-dns":
		return parseBool(v, &c.RedirectDNS)
	case "capture-all-dns":
		return parseBool(v, &c.CaptureAllDNS)
	case "drop-invalid":
		return parseBool(v, &c.DropInvalid)
	case "ipv6":
		return parseBool(v, &c.EnableIPv6)
	case "ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR":
		if c.HostIPv4LoopbackCIDR, err = netip.ParsePrefix(v); err != nil {
			return fmt.Errorf("loopback cidr: %w", err)
		}
		return nil
	}
	return c.setList(name, v)
}

// setList applies a list setting's text value.
func (c *Config) setList(name, v string) (err error) {
	switch name {
	case "proxy-uid":
		c.ProxyUIDs = SplitList(v)
	case "proxy-gid":
		c.ProxyGIDs = SplitList(v)
	case "istio-inbound-ports":
		c.InboundPorts, err = ParsePorts(v)
	case "istio-local-exclude-ports":
		c.InboundPortsExclude, err = ParsePortList(v)
	case "istio-service-cidr":
		c.OutboundIPRanges, err = ParsePrefixes(v)
	case "istio-service-exclude-cidr":
		if v == "*" {
			return fmt.Errorf(`"*" would exclude every destination`)
		}
		c.OutboundIPRangesExclude, err = ParsePrefixList(v)
	case "istio-outbound-ports":
		c.OutboundPorts, err = ParsePortList(v)
	case "istio-local-outbound-ports-exclude":
		c.OutboundPortsExclude, err = ParsePortList(v)
	case "kube-virt-interfaces":
		c.KubeVirtInterfaces = SplitList(v)
	case "istio-exclude-interfaces":
		c.ExcludeInterfaces = SplitList(v)
	case "dns-servers":
		c.DNSServersV4, c.DNSServersV6, err = SplitAddrs(SplitList(v))
	case "ISTIO_OUTBOUND_OWNER_GROUPS":
		c.OwnerGroupsInclude = groups(v)
	case "ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE":
		c.OwnerGroupsExclude = groups(v)
	default:
		return fmt.Errorf("unknown setting")
	}
	return err
}

// groups reads an owner-group list, where "*" means every group (no list).
func groups(v string) []string {
	if v == "*" {
		return nil
	}
	return SplitList(v)
}

func parsePort(v string, p *uint16) error {
	n, err := strconv.ParseUint(v, 10, 16)
	if err != nil || n == 0 {
		return fmt.Errorf("%q is not a port number", v)
	}
	*p = uint16(n)
	return nil
}

func parseUint32(v string, p *uint32) error {
	n, err := strconv.ParseUint(v, 0, 32)
	if err != nil {
		return fmt.Errorf("%q is not a number", v)
	}
	*p = uint32(n)
	return nil
}

func parseBool(v string, p *bool) error {
	if v == "" {
		v = "false"
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return fmt.Errorf("%q is not true or false", v)
	}
	*p = b
	return nil
}

func (c *Config) setMode(v string) error {
	switch m := Mode(strings.ToUpper(v)); m {
	case "", ModeRedirect, ModeTProxy:
		c.Mode = m
		return nil
	default:
		return fmt.Errorf("%q: want REDIRECT or TPROXY", v)
	}
}
