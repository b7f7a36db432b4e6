package iptables

import "strconv"

// output builds ISTIO_OUTPUT: what leaves the pod's processes goes to the proxy on
// ProxyPort, except the proxy's own traffic, loopback traffic meant for the app, and
// the exclusions.
func (b *builder) output() {
	dns := b.redirectDNS()
	b.append(tableNAT, output, "-j", ChainOutput)
	// Port exclusions come before connections back to the pod are redirected.
	for _, p := range b.cfg.OutboundPortsExclude {
		b.append(tableNAT, ChainOutput, "-p", "tcp", "--dport", port(p), "-j", "RETURN")
		b.append(tableNAT, ChainOutput, "-p", "udp", "--dport", port(p), "-j", "RETURN")
	}
	// The proxy's inbound passthrough connects to the app from 127.0.0.6 (::6).
	b.appendEach(inboundPassthroughV4, inboundPassthroughV6, tableNAT, ChainOutput,
		"-o", "lo", "-s", ipHere, "-j", "RETURN")
	_, _, loopbackIncluded := splitFamilies(b.cfg.OutboundIPRanges.List)
	for _, o := range b.owners() {
		b.proxyOwner(o, dns, loopbackIncluded)
	}
	b.ownerGroups()
	if dns {
		b.dns()
	}
	// Envoy-aware apps and container-to-container traffic use localhost directly.
	b.appendLoopback(tableNAT, ChainOutput, "-d", ipHere, "-j", "RETURN")
	v4, v6, _ := splitFamilies(b.cfg.OutboundIPRangesExclude)
	for _, p := range v4 {
		b.appendIn(IPv4, tableNAT, ChainOutput, "-d", p.String(), "-j", "RETURN")
	}
	for _, p := range v6 {
		b.appendIn(IPv6, tableNAT, ChainOutput, "-d", p.String(), "-j", "RETURN")
	}
	for _, p := range b.cfg.OutboundPorts {
		b.append(tableNAT, ChainOutput, "-p", "tcp", "--dport", port(p), "-j", ChainRedirect)
	}
	b.outboundRanges()
}

// proxyOwner keeps one proxy identity's traffic away from the outbound capture,
// except its calls back into the pod over a non-loopback address (app -> proxy ->
// VIP that resolves to this pod), which go to the inbound side.
func (b *builder) proxyOwner(o owner, dns, loopbackIncluded bool) {
	tunnel := port(b.cfg.InboundTunnelPort)
	notPorts := []string{"!", "--dport", tunnel}
	if dns && o.flag == "--uid-owner" {
		// The agent's DNS proxy talks to resolvers itself: not through the inbound side.
		notPorts = []string{"-m", "multiport", "!", "--dports", "53," + tunnel}
	}
	args := append([]string{"-o", "lo", "!", "-d", ipHere, "-p", "tcp"}, notPorts...)
	b.appendLoopback(tableNAT, ChainOutput, append(args, "-m", "owner", o.flag, o.id, "-j", ChainInRedirect)...)
	// An app calling itself over loopback stays on loopback, unless the capture ranges
	// name loopback explicitly. With DNS capture, TCP to a resolver on localhost is
	// still captured.
	if !loopbackIncluded {
		if dns {
			b.append(tableNAT, ChainOutput, "-o", "lo", "-p", "tcp", "!", "--dport", "53",
				"-m", "owner", "!", o.flag, o.id, "-j", "RETURN")
		} else {
			b.append(tableNAT, ChainOutput, "-o", "lo", "-m", "owner", "!", o.flag, o.id, "-j", "RETURN")
		}
	}
	// Everything else the proxy sends is left alone, UDP included: no loops.
	b.append(tableNAT, ChainOutput, "-m", "owner", o.flag, o.id, "-j", "RETURN")
}

// ownerGroups limits outbound capture to, or exempts from it, the configured groups.
func (b *builder) ownerGroups() {
	if groups := b.cfg.OwnerGroupsInclude; len(groups) > 0 {
		var args []string
		for _, g := range groups {
			args = append(args, "-m", "owner", "!", "--gid-owner", g)
		}
		b.append(tableNAT, ChainOutput, append(args, "-j", "RETURN")...)
		return
	}
	for _, g := range b.cfg.OwnerGroupsExclude {
		b.append(tableNAT, ChainOutput, "-m", "owner", "--gid-owner", g, "-j", "RETURN")
	}
}

// outboundRanges sends the captured destinations to the proxy, per family. Traffic
// entering on a kube-virt interface is captured like the pod's own.
func (b *builder) outboundRanges() {
	r := b.cfg.OutboundIPRanges
	v4, v6, _ := splitFamilies(r.List)
	for _, f := range []Family{IPv4, IPv6} {
		if r.All {
			b.appendIn(f, tableNAT, ChainOutput, "-j", ChainRedirect)
			for _, nic := range b.cfg.KubeVirtInterfaces {
				b.insertOne(f, tableNAT, prerouting, 1, "-i", nic, "-j", ChainRedirect)
			}
			continue
		}
		list := v4
		if f == IPv6 {
			list = v6
		}
		for _, p := range list {
			for _, nic := range b.cfg.KubeVirtInterfaces {
				b.insertOne(f, tableNAT, prerouting, 1, "-i", nic, "-d", p.String(), "-j", ChainRedirect)
			}
			b.appendIn(f, tableNAT, ChainOutput, "-d", p.String(), "-j", ChainRedirect)
		}
	}
}

// redirectDNS reports whether DNS is captured: asked for, and with resolvers to
// capture (or all of port 53).
func (b *builder) redirectDNS() bool {
	c := b.cfg
	return c.RedirectDNS && (c.CaptureAllDNS || len(c.DNSServersV4) > 0 || len(c.DNSServersV6) > 0)
}

// dns sends DNS to the agent on 15053 and splits DNS conntrack into two zones.
func (b *builder) dns() {
	c := b.cfg
	// raw has no shared rules, so OUTPUT jumps straight to the DNS chain.
	b.append(tableRaw, output, "-j", ChainOutputDNS)
	// Jump from nat only in a family that has something to capture.
	if c.CaptureAllDNS || len(c.DNSServersV4) > 0 {
		b.appendIn(IPv4, tableNAT, ChainOutput, "-j", ChainOutputDNS)
	}
	if c.CaptureAllDNS || len(c.DNSServersV6) > 0 {
		b.appendIn(IPv6, tableNAT, ChainOutput, "-j", ChainOutputDNS)
	}
	listener := strconv.Itoa(DNSListenerPort)
	b.dnsToAgent("tcp", "--to-ports", listener)
	b.dnsToAgent("udp", "--to-port", listener)
	b.dnsZones()
}

// dnsToAgent redirects DNS over proto to the agent: all of it, or only to the
// pod's resolvers (so a local resolver chain such as app -> agent -> dnsmasq ->
// upstream does not loop). Istio spells the UDP option --to-port.
func (b *builder) dnsToAgent(proto, toPorts, listener string) {
	if b.cfg.CaptureAllDNS {
		b.append(tableNAT, ChainOutputDNS, "-p", proto, "--dport", "53", "-j", "REDIRECT", toPorts, listener)
		return
	}
	for _, s := range b.cfg.DNSServersV4 {
		b.appendIn(IPv4, tableNAT, ChainOutputDNS, "-p", proto, "--dport", "53", "-d", s+"/32", "-j", "REDIRECT", toPorts, listener)
	}
	for _, s := range b.cfg.DNSServersV6 {
		b.appendIn(IPv6, tableNAT, ChainOutputDNS, "-p", proto, "--dport", "53", "-d", s+"/128", "-j", "REDIRECT", toPorts, listener)
	}
}

// dnsZones puts UDP DNS in two conntrack zones so the two legs of a proxied query
// (app <-> agent in zone 2, agent <-> resolver in zone 1) never share an entry.
func (b *builder) dnsZones() {
	listener := strconv.Itoa(DNSListenerPort)
	for _, o := range b.owners() {
		b.append(tableRaw, ChainOutputDNS, "-p", "udp", "--dport", "53", "-m", "owner", o.flag, o.id, "-j", "CT", "--zone", "1")
		b.append(tableRaw, ChainOutputDNS, "-p", "udp", "--sport", listener, "-m", "owner", o.flag, o.id, "-j", "CT", "--zone", "2")
	}
	if b.cfg.CaptureAllDNS {
		b.append(tableRaw, prerouting, "-j", ChainInbound)
		b.append(tableRaw, ChainOutputDNS, "-p", "udp", "--dport", "53", "-j", "CT", "--zone", "2")
		b.append(tableRaw, ChainInbound, "-p", "udp", "--sport", "53", "-j", "CT", "--zone", "1")
		return
	}
	b.resolverZones(IPv4, b.cfg.DNSServersV4, "/32")
	b.resolverZones(IPv6, b.cfg.DNSServersV6, "/128")
}

func (b *builder) resolverZones(f Family, servers []string, bits string) {
	if len(servers) == 0 {
		return
	}
	b.appendIn(f, tableRaw, prerouting, "-j", ChainInbound)
	for _, s := range servers {
		b.appendIn(f, tableRaw, ChainOutputDNS, "-p", "udp", "--dport", "53", "-d", s+bits, "-j", "CT", "--zone", "2")
		b.appendIn(f, tableRaw, ChainInbound, "-p", "udp", "--sport", "53", "-s", s+bits, "-j", "CT", "--zone", "1")
	}
}
