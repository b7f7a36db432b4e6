package listener

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/netfilter"
)

// filterChain is a compiled filter chain.
type filterChain struct {
	name    string
	match   chainMatch
	tls     *tls.Config // nil: no transport socket (plaintext or passthrough)
	handler netfilter.Handler
}

// chainMatch is a compiled FilterChainMatch.
type chainMatch struct {
	destPort     uint32 // 0: any
	destRanges   []netip.Prefix
	serverNames  []string
	transport    string
	appProtocols []string
	directSource []netip.Prefix
	sourceType   listenerv3.FilterChainMatch_ConnectionSourceType
	sourceRanges []netip.Prefix
	sourcePorts  []uint32
}

// connFacts is what filter-chain matching knows of a connection.
type connFacts struct {
	dest, source, directSource netip.AddrPort
	serverName                 string
	transport                  string
	alpn                       []string
}

func compileMatch(m *listenerv3.FilterChainMatch) (chainMatch, error) {
	cm := chainMatch{
		destPort: m.GetDestinationPort().GetValue(), serverNames: m.GetServerNames(),
		transport: m.GetTransportProtocol(), appProtocols: m.GetApplicationProtocols(),
		sourceType: m.GetSourceType(), sourcePorts: m.GetSourcePorts(),
	}
	var err error
	if cm.destRanges, err = prefixes(m.GetPrefixRanges()); err != nil {
		return cm, fmt.Errorf("prefix_ranges: %w", err)
	}
	if cm.directSource, err = prefixes(m.GetDirectSourcePrefixRanges()); err != nil {
		return cm, fmt.Errorf("direct_source_prefix_ranges: %w", err)
	}
	if cm.sourceRanges, err = prefixes(m.GetSourcePrefixRanges()); err != nil {
		return cm, fmt.Errorf("source_prefix_ranges: %w", err)
	}
	for i, n := range cm.serverNames {
		cm.serverNames[i] = strings.ToLower(n)
	}
	return cm, nil
}

func prefixes(rs []*corev3.CidrRange) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, r := range rs {
		a, err := netip.ParseAddr(r.GetAddressPrefix())
		if err != nil {
			return nil, fmt.Errorf("address_prefix %q: %w", r.GetAddressPrefix(), err)
		}
		bits := a.BitLen()
		if r.GetPrefixLen() != nil {
			bits = int(r.GetPrefixLen().GetValue())
		}
		p, err := a.Unmap().Prefix(min(bits, a.Unmap().BitLen()))
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// selectChain picks the filter chain for a connection as Envoy does: criterion by
// criterion (destination port, destination IP, server name, transport protocol,
// application protocols, direct source IP, source type, source IP, source port), keep
// the chains whose value for it matches most specifically; a chain that sets a
// criterion the connection does not meet is out. It returns nil when none is left.
func selectChain(chains []*filterChain, f *connFacts) *filterChain {
	cands := make([]*filterChain, 0, len(chains))
	cands = append(cands, chains...)
	for _, score := range criteria {
		best := -1
		n := 0
		for _, c := range cands {
			s := score(&c.match, f)
			switch {
			case s < 0:
				continue
			case s > best:
				best, n = s, 0
			case s < best:
				continue
			}
			cands[n] = c
			n++
		}
		cands = cands[:n]
		if n == 0 {
			return nil
		}
	}
	return cands[0]
}

// criteria score a chain against a connection: -1 excludes it, higher is more specific.
var criteria = []func(*chainMatch, *connFacts) int{
	func(m *chainMatch, f *connFacts) int { return portScore(m.destPort, f.dest.Port()) },
	func(m *chainMatch, f *connFacts) int { return prefixScore(m.destRanges, f.dest.Addr()) },
	serverNameScore,
	func(m *chainMatch, f *connFacts) int { return stringScore(m.transport, f.transport) },
	appProtocolScore,
	func(m *chainMatch, f *connFacts) int { return prefixScore(m.directSource, f.directSource.Addr()) },
	sourceTypeScore,
	func(m *chainMatch, f *connFacts) int { return prefixScore(m.sourceRanges, f.source.Addr()) },
	func(m *chainMatch, f *connFacts) int {
		if len(m.sourcePorts) == 0 {
			return 0
		}
		for _, p := range m.sourcePorts {
			if uint16(p) == f.source.Port() {
				return 1
			}
		}
		return -1
	},
}

func portScore(want uint32, got uint16) int {
	switch {
	case want == 0:
		return 0
	case uint16(want) == got:
		return 1
	}
	return -1
}

func prefixScore(ps []netip.Prefix, a netip.Addr) int {
	if len(ps) == 0 {
		return 0
	}
	best := -1
	for _, p := range ps {
		if p.Contains(a.Unmap()) {
			best = max(best, p.Bits()+1)
		}
	}
	return best
}

func stringScore(want, got string) int {
	switch {
	case want == "":
		return 0
	case want == got:
		return 1
	}
	return -1
}

// serverNameScore: an exact name beats the longest matching wildcard, which beats none.
func serverNameScore(m *chainMatch, f *connFacts) int {
	if len(m.serverNames) == 0 {
		return 0
	}
	sni := strings.ToLower(f.serverName)
	best := -1
	for _, n := range m.serverNames {
		switch {
		case n == sni:
			return 1 << 20
		case strings.HasPrefix(n, "*.") && strings.HasSuffix(sni, n[1:]) && len(sni) > len(n)-1:
			best = max(best, len(n))
		}
	}
	return best
}

func appProtocolScore(m *chainMatch, f *connFacts) int {
	if len(m.appProtocols) == 0 {
		return 0
	}
	for _, want := range m.appProtocols {
		for _, got := range f.alpn {
			if want == got {
				return 1
			}
		}
	}
	return -1
}

func sourceTypeScore(m *chainMatch, f *connFacts) int {
	local := f.source.Addr().IsLoopback() || f.source.Addr() == f.dest.Addr()
	switch m.sourceType {
	case listenerv3.FilterChainMatch_SAME_IP_OR_LOOPBACK:
		if local {
			return 1
		}
		return -1
	case listenerv3.FilterChainMatch_EXTERNAL:
		if !local {
			return 1
		}
		return -1
	}
	return 0
}

// checkDuplicates rejects two chains with the same match, as Envoy does.
func checkDuplicates(chains []*listenerv3.FilterChain) error {
	for i := range chains {
		for j := 0; j < i; j++ {
			a, b := chains[i].GetFilterChainMatch(), chains[j].GetFilterChainMatch()
			if proto.Equal(a, b) {
				return fmt.Errorf("filter_chains[%d] and filter_chains[%d] have the same filter_chain_match", j, i)
			}
		}
	}
	return nil
}
