package iptables

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
)

// ipHere stands in a rule's arguments for an address that differs by family; see
// builder.appendEach.
const ipHere = "\x00ip"

// Per-family addresses the rules name.
const (
	inboundPassthroughV4 = "127.0.0.6/32" // the proxy binds here to reach the app
	inboundPassthroughV6 = "::6/128"
	loopbackV6           = "::1/128"
)

// Build turns a Config into its capture rules. It is pure: the same Config gives the
// same RuleSet, and nothing is read from or written to the system. The order of the
// rules is istio-iptables' order, which RuleSet.Restore keeps.
func Build(cfg Config) (RuleSet, error) {
	if err := cfg.Validate(); err != nil {
		return RuleSet{}, fmt.Errorf("capture config: %w", err)
	}
	b := &builder{cfg: &cfg, loopbackV4: cfg.HostIPv4LoopbackCIDR.String()}
	b.excludeInterfaces()
	b.kubeVirtReturns()
	b.dropInvalid()
	b.baseChains()
	b.inbound()
	b.output()
	if cfg.tproxy() {
		b.tproxyMarks()
	}
	return b.rs, nil
}

// builder accumulates rules for both families; IPv6 rules are dropped unless the
// config enables IPv6.
type builder struct {
	cfg        *Config
	loopbackV4 string
	rs         RuleSet
}

func (b *builder) add(f Family, r Rule) {
	r.Args = slices.Clone(r.Args)
	if f == IPv4 {
		b.rs.V4 = append(b.rs.V4, r)
	} else if b.cfg.EnableIPv6 {
		b.rs.V6 = append(b.rs.V6, r)
	}
}

// append adds a rule at the end of chain in both families.
func (b *builder) append(table, chain string, args ...string) {
	b.appendIn(IPv4, table, chain, args...)
	b.appendIn(IPv6, table, chain, args...)
}

// appendIn adds a rule at the end of chain in family f only.
func (b *builder) appendIn(f Family, table, chain string, args ...string) {
	b.add(f, Rule{Table: table, Chain: chain, Args: args})
}

// appendEach adds a rule to both families with ipHere replaced by v4 or v6.
func (b *builder) appendEach(v4, v6, table, chain string, args ...string) {
	b.appendIn(IPv4, table, chain, replace(args, v4)...)
	b.appendIn(IPv6, table, chain, replace(args, v6)...)
}

// appendLoopback is appendEach with the loopback ranges of both families.
func (b *builder) appendLoopback(table, chain string, args ...string) {
	b.appendEach(b.loopbackV4, loopbackV6, table, chain, args...)
}

// insert adds a rule at position pos of chain in both families.
func (b *builder) insert(table, chain string, pos int, args ...string) {
	b.insertOne(IPv4, table, chain, pos, args...)
	b.insertOne(IPv6, table, chain, pos, args...)
}

func (b *builder) insertOne(f Family, table, chain string, pos int, args ...string) {
	b.add(f, Rule{Table: table, Chain: chain, Insert: pos, Args: args})
}

func replace(args []string, addr string) []string {
	out := slices.Clone(args)
	for i, a := range out {
		if a == ipHere {
			out[i] = addr
		}
	}
	return out
}

// excludeInterfaces leaves the excluded NICs alone in both directions.
func (b *builder) excludeInterfaces() {
	for _, nic := range b.cfg.ExcludeInterfaces {
		b.append(tableNAT, prerouting, "-i", nic, "-j", "RETURN")
		b.append(tableNAT, output, "-o", nic, "-j", "RETURN")
	}
	if !b.cfg.tproxy() {
		return
	}
	for _, nic := range b.cfg.ExcludeInterfaces {
		b.append(tableMangle, prerouting, "-i", nic, "-j", "RETURN")
		b.append(tableMangle, output, "-o", nic, "-j", "RETURN")
	}
}

// kubeVirtReturns keeps inbound traffic from the virtual interfaces out of inbound
// capture; outboundRanges may send it to the outbound chain instead.
func (b *builder) kubeVirtReturns() {
	for _, nic := range b.cfg.KubeVirtInterfaces {
		b.insert(tableNAT, prerouting, 1, "-i", nic, "-j", "RETURN")
	}
}

// dropInvalid drops conntrack-INVALID packets (such as out-of-window segments)
// rather than letting them reach a socket that answers with a reset.
func (b *builder) dropInvalid() {
	if !b.cfg.DropInvalid {
		return
	}
	b.append(tableMangle, prerouting, "-m", "conntrack", "--ctstate", "INVALID", "-j", ChainDrop)
	b.append(tableMangle, ChainDrop, "-j", "DROP")
}

// baseChains creates the redirect chains and keeps the tunnel port uncaptured.
func (b *builder) baseChains() {
	b.append(tableNAT, ChainInbound, "-p", "tcp", "--dport", port(b.cfg.InboundTunnelPort), "-j", "RETURN")
	b.append(tableNAT, ChainRedirect, "-p", "tcp", "-j", "REDIRECT", "--to-ports", port(b.cfg.ProxyPort))
	b.append(tableNAT, ChainInRedirect, "-p", "tcp", "-j", "REDIRECT", "--to-ports", port(b.cfg.InboundCapturePort))
}

// inbound captures the inbound ports: with REDIRECT in nat, with TPROXY in mangle.
func (b *builder) inbound() {
	in := b.cfg.InboundPorts
	if !in.All && len(in.List) == 0 {
		return
	}
	table := tableNAT
	if b.cfg.tproxy() {
		table = tableMangle
		b.tproxyChains()
	}
	b.append(table, prerouting, "-p", "tcp", "-j", ChainInbound)
	if in.All {
		for _, p := range b.cfg.InboundPortsExclude {
			b.append(table, ChainInbound, "-p", "tcp", "--dport", port(p), "-j", "RETURN")
		}
		b.captureInbound(table)
		return
	}
	for _, p := range in.List {
		b.captureInbound(table, "--dport", port(p))
	}
}

// captureInbound sends inbound TCP matching match to the proxy.
func (b *builder) captureInbound(table string, match ...string) {
	tcp := append([]string{"-p", "tcp"}, match...)
	if !b.cfg.tproxy() {
		b.append(table, ChainInbound, append(tcp, "-j", ChainInRedirect)...)
		return
	}
	// Packets of established connections go to the local socket as they are; new
	// connections are handed to the proxy by TPROXY.
	established := []string{"-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", ChainDivert}
	b.append(table, ChainInbound, append(slices.Clone(tcp), established...)...)
	b.append(table, ChainInbound, append(tcp, "-j", ChainTProxy)...)
}

// tproxyChains creates the chains that mark inbound packets and hand them to the
// proxy's inbound port.
func (b *builder) tproxyChains() {
	mark := strconv.FormatUint(uint64(b.cfg.TProxyMark), 10)
	b.append(tableMangle, ChainDivert, "-j", "MARK", "--set-mark", mark)
	b.append(tableMangle, ChainDivert, "-j", "ACCEPT")
	b.appendLoopback(tableMangle, ChainTProxy, "!", "-d", ipHere, "-p", "tcp", "-j", "TPROXY",
		"--tproxy-mark", mark+"/0xffffffff", "--on-port", port(b.cfg.InboundCapturePort))
}

// tproxyMarks keeps TPROXY from capturing the proxy's own connections to the app.
func (b *builder) tproxyMarks() {
	mark := strconv.FormatUint(uint64(b.cfg.TProxyMark), 10)
	// Remember the mark the proxy's original_src listener filter set on the connection.
	b.append(tableMangle, prerouting, "-p", "tcp", "-m", "mark", "--mark", mark, "-j", "CONNMARK", "--save-mark")
	b.append(tableMangle, output, "-p", "tcp", "-o", "lo", "-m", "mark", "--mark", mark, "-j", "RETURN")
	// The proxy calling the app on the pod IP (app -> VIP -> outbound -> inbound -> app).
	for _, owner := range b.owners() {
		b.appendLoopback(tableMangle, output, "!", "-d", ipHere, "-p", "tcp", "-o", "lo",
			"-m", "owner", owner.flag, owner.id, "-j", "MARK", "--set-mark", outboundMark)
	}
	b.append(tableMangle, output, "-p", "tcp", "-m", "connmark", "--mark", mark, "-j", "CONNMARK", "--restore-mark")
	b.insert(tableMangle, ChainInbound, 1, "-p", "tcp", "-m", "mark", "--mark", mark, "-j", "RETURN")
	b.insertOne(IPv4, tableMangle, ChainInbound, 2, "-p", "tcp", "-s", inboundPassthroughV4, "-i", "lo", "-j", "RETURN")
	b.insertOne(IPv6, tableMangle, ChainInbound, 2, "-p", "tcp", "-s", inboundPassthroughV6, "-i", "lo", "-j", "RETURN")
	b.insert(tableMangle, ChainInbound, 3, "-p", "tcp", "-i", "lo", "-m", "mark", "!", "--mark", outboundMark, "-j", "RETURN")
}

// owner is one proxy identity: a uid ("--uid-owner") or a gid ("--gid-owner").
type owner struct{ flag, id string }

// owners lists the proxy's uids, then its gids.
func (b *builder) owners() []owner {
	var out []owner
	for _, uid := range b.cfg.ProxyUIDs {
		out = append(out, owner{"--uid-owner", uid})
	}
	for _, gid := range b.cfg.ProxyGIDs {
		out = append(out, owner{"--gid-owner", gid})
	}
	return out
}

func port(p uint16) string { return strconv.Itoa(int(p)) }

// splitFamilies sorts prefixes by family and reports whether either family's list
// names a loopback address.
func splitFamilies(list []netip.Prefix) (v4, v6 []netip.Prefix, loopback bool) {
	for _, p := range list {
		if p.Addr().Is4() {
			v4 = append(v4, p)
		} else {
			v6 = append(v6, p)
		}
		loopback = loopback || p.Addr().IsLoopback()
	}
	return v4, v6, loopback
}
