package iptables

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

var equatePrefix = cmpopts.EquateComparable(netip.Prefix{})

func env(m map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}

func TestConfigureDefaults(t *testing.T) {
	got, err := Configure(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(DefaultConfig(), got, equatePrefix); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

func TestConfigureFlagsAndEnv(t *testing.T) {
	got, err := Configure(
		map[string]string{"proxy-uid": "3,4", "istio-inbound-ports": "*", "istio-service-cidr": "10.0.0.0/8,fd00::/8"},
		env(map[string]string{
			"ISTIO_INBOUND_PORTS":                 "80", // the flag wins
			"ISTIO_LOCAL_EXCLUDE_PORTS":           "15090,15021,",
			"ISTIO_META_DNS_CAPTURE":              "true",
			"ISTIO_OUTBOUND_OWNER_GROUPS":         "*",
			"ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE": "ftp",
		}))
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.ProxyUIDs = []string{"3", "4"}
	want.ProxyGIDs = []string{"3", "4"} // like istio-iptables: the GIDs default to the UIDs
	want.InboundPorts = Ports{All: true}
	want.InboundPortsExclude = []uint16{15090, 15021}
	want.OutboundIPRanges = Prefixes{List: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}
	want.RedirectDNS = true
	want.OwnerGroupsExclude = []string{"ftp"}
	if diff := cmp.Diff(want, got, equatePrefix); diff != "" {
		t.Errorf("config (-want +got):\n%s", diff)
	}
}

func TestConfigureErrors(t *testing.T) {
	for _, tc := range []struct {
		values map[string]string
		want   string
	}{
		{map[string]string{"inbound-capture-port": "70000"}, `inbound-capture-port: "70000" is not a port number`},
		{map[string]string{"istio-local-exclude-ports": "80,x"}, `istio-local-exclude-ports: port "x": not a port number`},
		{map[string]string{"drop-invalid": "maybe"}, `drop-invalid: "maybe" is not true or false`},
		{map[string]string{"dns-servers": "resolver"}, `dns-servers: address: ParseAddr("resolver")`},
		{map[string]string{"ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR": "localhost"}, "ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR: loopback cidr"},
	} {
		_, err := Configure(tc.values, nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.values, err, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.ProxyPort = 0 }, "ports must be set"},
		{func(c *Config) { c.ProxyUIDs, c.ProxyGIDs = nil, nil }, "no proxy uid or gid"},
		{func(c *Config) { c.HostIPv4LoopbackCIDR = netip.MustParsePrefix("::1/128") }, "want an IPv4 loopback range"},
		{func(c *Config) { c.HostIPv4LoopbackCIDR = netip.MustParsePrefix("10.0.0.1/32") }, "want an IPv4 loopback range"},
		{func(c *Config) { c.OwnerGroupsInclude = make([]string, 65) }, "65 owner groups to include: at most 64"},
		{func(c *Config) { c.OwnerGroupsInclude, c.OwnerGroupsExclude = []string{"a"}, []string{"b"} }, "not both"},
		{func(c *Config) { c.DNSServersV4 = []string{"fd00::1"} }, "dns server fd00::1 is not an IPv4 address"},
		{func(c *Config) { c.DNSServersV6 = []string{"10.0.0.1"} }, "dns server 10.0.0.1 is not an IPv6 address"},
	} {
		c := DefaultConfig()
		tc.edit(&c)
		if _, err := Build(c); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("err = %v, want %q", err, tc.want)
		}
	}
}

func TestReadResolvConf(t *testing.T) {
	conf := "# comment\nsearch default.svc.cluster.local\nnameserver 10.96.0.10\nnameserver ::127.0.0.53\noptions ndots:5\n"
	servers, err := ReadResolvConf(strings.NewReader(conf))
	if err != nil {
		t.Fatal(err)
	}
	v4, v6, err := SplitAddrs(servers)
	if err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(v4, []string{"10.96.0.10"}) || !cmp.Equal(v6, []string{"::127.0.0.53"}) {
		t.Errorf("v4 %v, v6 %v", v4, v6)
	}
}
