package listener

import (
	"net/netip"
	"testing"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/types/known/wrapperspb"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

func chain(t *testing.T, name string, m *listenerv3.FilterChainMatch) *filterChain {
	t.Helper()
	cm, err := compileMatch(m)
	if err != nil {
		t.Fatal(err)
	}
	return &filterChain{name: name, match: cm}
}

func cidr(p string, n uint32) *corev3.CidrRange {
	return &corev3.CidrRange{AddressPrefix: p, PrefixLen: wrapperspb.UInt32(n)}
}

func TestSelectChain(t *testing.T) {
	chains := []*filterChain{
		chain(t, "any", &listenerv3.FilterChainMatch{}),
		chain(t, "port9080", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(9080)}),
		chain(t, "port9080-10.0/16", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(9080), PrefixRanges: []*corev3.CidrRange{cidr("10.0.0.0", 16)}}),
		chain(t, "port9080-10.0.0.5/32", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(9080), PrefixRanges: []*corev3.CidrRange{cidr("10.0.0.5", 32)}}),
		chain(t, "tls-exact", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(443), TransportProtocol: "tls", ServerNames: []string{"api.example.com"}}),
		chain(t, "tls-wildcard", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(443), TransportProtocol: "tls", ServerNames: []string{"*.example.com"}}),
		chain(t, "tls-any", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(443), TransportProtocol: "tls"}),
		chain(t, "raw-443", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(443)}),
		chain(t, "http-8080", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(8080), ApplicationProtocols: []string{"http/1.1", "h2c"}}),
		chain(t, "local-8081", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(8081), SourceType: listenerv3.FilterChainMatch_SAME_IP_OR_LOOPBACK}),
		chain(t, "src-8081", &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(8081), SourcePrefixRanges: []*corev3.CidrRange{cidr("192.168.0.0", 16)}}),
	}
	ap := netip.MustParseAddrPort
	tests := []struct {
		name string
		f    connFacts
		want string
	}{
		{"no criteria", connFacts{dest: ap("10.1.1.1:80"), source: ap("10.2.2.2:1000")}, "any"},
		{"port", connFacts{dest: ap("10.9.0.1:9080")}, "port9080"},
		{"longer prefix wins", connFacts{dest: ap("10.0.0.5:9080")}, "port9080-10.0.0.5/32"},
		{"shorter prefix", connFacts{dest: ap("10.0.1.1:9080")}, "port9080-10.0/16"},
		{"exact sni", connFacts{dest: ap("1.1.1.1:443"), transport: "tls", serverName: "api.example.com"}, "tls-exact"},
		{"wildcard sni", connFacts{dest: ap("1.1.1.1:443"), transport: "tls", serverName: "www.example.com"}, "tls-wildcard"},
		{"other sni", connFacts{dest: ap("1.1.1.1:443"), transport: "tls", serverName: "other.org"}, "tls-any"},
		{"wildcard not bare domain", connFacts{dest: ap("1.1.1.1:443"), transport: "tls", serverName: "example.com"}, "tls-any"},
		{"plaintext on 443", connFacts{dest: ap("1.1.1.1:443"), transport: "raw_buffer"}, "raw-443"},
		{"http sniffed", connFacts{dest: ap("1.1.1.1:8080"), alpn: []string{"http/1.1"}}, "http-8080"},
		{"not http: port criterion still excludes the http chain", connFacts{dest: ap("1.1.1.1:8080")}, ""},
		{"loopback source", connFacts{dest: ap("10.0.0.1:8081"), source: ap("127.0.0.1:5000")}, "local-8081"},
		{"source prefix", connFacts{dest: ap("10.0.0.1:8081"), source: ap("192.168.1.1:5000")}, "src-8081"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := selectChain(chains, &tt.f)
			name := ""
			if got != nil {
				name = got.name
			}
			if name != tt.want {
				t.Errorf("selected %q, want %q", name, tt.want)
			}
		})
	}
}

func TestCheckDuplicates(t *testing.T) {
	m := &listenerv3.FilterChainMatch{DestinationPort: wrapperspb.UInt32(80)}
	err := checkDuplicates([]*listenerv3.FilterChain{{FilterChainMatch: m}, {FilterChainMatch: m}})
	if err == nil {
		t.Error("duplicate filter_chain_match accepted")
	}
}

func TestStatName(t *testing.T) {
	for in, want := range map[string]string{"0.0.0.0:15001": "0.0.0.0_15001", "[::]:15006": "[__]_15006"} {
		if got := statName(netip.MustParseAddrPort(in)); got != want {
			t.Errorf("statName(%s) = %s, want %s", in, got, want)
		}
	}
}
