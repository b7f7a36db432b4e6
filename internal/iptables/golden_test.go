package iptables

import (
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// goldenCase is one of Istio's istio-iptables capture goldens: the settings the case
// changes from the base config (see the README next to the goldens).
type goldenCase struct {
	name  string
	flags map[string]string // istio-iptables flags, long names
	env   map[string]string // environment-only settings
	set   func(*Config)     // settings Istio's test sets directly (IPv6, DNS servers)
}

func ipv6(c *Config) { c.EnableIPv6 = true }

func goldenCases() []goldenCase {
	dnsV4 := func(c *Config) { c.DNSServersV4 = []string{"127.0.0.53"} }
	return []goldenCase{
		{name: "empty"},
		{name: "ipv6-empty-inbound-ports", flags: map[string]string{"istio-inbound-ports": ""}, set: ipv6},
		{name: "ip-range", flags: map[string]string{
			"istio-service-cidr": "9.9.0.0/16", "istio-service-exclude-cidr": "1.1.0.0/16",
			"dry-run": "true", "redirect-dns": "true", "proxy-gid": "1,2", "proxy-uid": "3,4",
		}, set: dnsV4},
		{name: "tproxy", flags: map[string]string{
			"istio-inbound-interception-mode": "TPROXY", "istio-inbound-ports": "*",
			"istio-service-cidr": "9.9.0.0/16", "istio-service-exclude-cidr": "1.1.0.0/16",
			"dry-run": "true", "redirect-dns": "true", "proxy-uid": "1337", "proxy-gid": "1337",
			"istio-exclude-interfaces": "not-istio-nic",
		}, set: func(c *Config) { dnsV4(c); ipv6(c) }},
		{name: "ipv6-inbound-ports", flags: map[string]string{"istio-inbound-ports": "4000,5000"}, set: ipv6},
		{name: "ipv6-virt-interfaces", flags: map[string]string{
			"istio-inbound-ports": "4000,5000", "kube-virt-interfaces": "eth0,eth1",
		}, set: ipv6},
		{name: "ipv6-ipnets", flags: map[string]string{
			"istio-inbound-ports": "4000,5000", "istio-local-exclude-ports": "6000,7000,",
			"kube-virt-interfaces": "eth0,eth1",
			"istio-service-cidr":   "2001:db8::/32", "istio-service-exclude-cidr": "2001:db8::/32",
		}, set: ipv6},
		{name: "ipv6-uid-gid", flags: map[string]string{
			"istio-inbound-ports": "4000,5000", "istio-local-exclude-ports": "6000,7000",
			"kube-virt-interfaces": "eth0,eth1",
			"istio-service-cidr":   "2001:db8::/32", "istio-service-exclude-cidr": "2001:db8::/32",
			"proxy-gid": "1,2", "proxy-uid": "3,4",
		}, set: ipv6},
		{name: "ipv6-outbound-ports", flags: map[string]string{
			"istio-inbound-ports": "", "istio-outbound-ports": "32000,31000",
		}, set: ipv6},
		{name: "kube-virt-interfaces", flags: map[string]string{
			"kube-virt-interfaces": "eth1,eth2", "istio-service-cidr": "*",
		}},
		{name: "ipnets", flags: map[string]string{"istio-service-cidr": "10.0.0.0/8"}},
		{name: "ipnets-with-kube-virt-interfaces", flags: map[string]string{
			"kube-virt-interfaces": "eth1,eth2", "istio-service-cidr": "10.0.0.0/8",
		}},
		{name: "inbound-ports-include", flags: map[string]string{"istio-inbound-ports": "32000,31000"}},
		{name: "inbound-ports-wildcard", flags: map[string]string{"istio-inbound-ports": "*"}},
		{name: "inbound-ports-tproxy", flags: map[string]string{
			"istio-inbound-ports": "32000,31000", "istio-inbound-interception-mode": "TPROXY",
		}},
		{name: "inbound-ports-wildcard-tproxy", flags: map[string]string{
			"istio-inbound-ports": "*", "istio-inbound-interception-mode": "TPROXY",
		}},
		{name: "dns-uid-gid", flags: map[string]string{
			"redirect-dns": "true", "proxy-gid": "1,2", "proxy-uid": "3,4",
		}, set: func(c *Config) {
			dnsV4(c)
			c.DNSServersV6 = []string{"::127.0.0.53"}
			ipv6(c)
		}},
		{name: "ipv6-dns-uid-gid", flags: map[string]string{
			"redirect-dns": "true", "capture-all-dns": "false", "proxy-gid": "1,2", "proxy-uid": "3,4",
		}, set: ipv6},
		{name: "outbound-owner-groups", env: map[string]string{"ISTIO_OUTBOUND_OWNER_GROUPS": "java,202"}},
		{name: "outbound-owner-groups-exclude", env: map[string]string{"ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE": "888,ftp"}},
		{name: "ipv6-dns-outbound-owner-groups", flags: map[string]string{"redirect-dns": "true"},
			env: map[string]string{"ISTIO_OUTBOUND_OWNER_GROUPS": "java,202"}, set: ipv6},
		{name: "ipv6-dns-outbound-owner-groups-exclude", flags: map[string]string{"redirect-dns": "true"},
			env: map[string]string{"ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE": "888,ftp"}, set: ipv6},
		{name: "outbound-ports-include", flags: map[string]string{"istio-outbound-ports": "32000,31000"}},
		{name: "loopback-outbound-iprange", flags: map[string]string{
			"istio-service-cidr": "127.1.2.3/32", "dry-run": "true", "redirect-dns": "true",
			"proxy-gid": "1,2", "proxy-uid": "3,4",
		}, set: dnsV4},
		{name: "basic-exclude-nic", flags: map[string]string{"istio-exclude-interfaces": "not-istio-nic"}},
		{name: "drop-invalid", flags: map[string]string{"drop-invalid": "true"}},
		{name: "host-ipv4-loopback-cidr", env: map[string]string{"ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR": "127.0.0.1/8"}},
	}
}

// TestGoldens renders each of Istio's 27 cases and compares it byte for byte with
// Istio's golden, framed the way Istio's test records it: the two state checks, the
// IPv4 restore input, the IPv6 one when IPv6 is on, and the final state dumps.
func TestGoldens(t *testing.T) {
	dir := conformanceDir(t, "istio-iptables")
	cases := goldenCases()
	files, _ := filepath.Glob(filepath.Join(dir, "*.golden"))
	if len(files) != len(cases) {
		t.Errorf("%d golden files in %s, %d cases in the test", len(files), dir, len(cases))
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			want, err := os.ReadFile(filepath.Join(dir, tc.name+".golden"))
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := goldenConfig(tc)
			if err != nil {
				t.Fatal(err)
			}
			if tc.set != nil {
				tc.set(&cfg)
			}
			rs, err := Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := transcript(&rs, cfg.EnableIPv6)
			if diff := cmp.Diff(string(want), got); diff != "" {
				t.Errorf("%s (-istio +weft):\n%s", tc.name, diff)
			}
		})
	}
}

// goldenConfig configures a case the way Istio's test does: the base flags and
// environment, overridden by the case's. --dry-run is left out: it only decides
// whether the rules are applied.
func goldenConfig(tc goldenCase) (Config, error) {
	flags := map[string]string{
		"envoy-port": "15001", "inbound-capture-port": "15006", "inbound-tunnel-port": "15008",
		"proxy-uid": "1337", "proxy-gid": "1337",
		"istio-inbound-tproxy-mark": "1337", "istio-inbound-tproxy-route-table": "133",
	}
	env := map[string]string{
		"ISTIO_OUTBOUND_OWNER_GROUPS":       "*",
		"ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR": "127.0.0.1/32",
	}
	maps.Copy(flags, tc.flags)
	maps.Copy(env, tc.env)
	delete(flags, "dry-run")
	return Configure(flags, func(name string) (string, bool) {
		v, ok := env[name]
		return v, ok
	})
}

// transcript frames the restore input the way Istio's stub records a run.
func transcript(rs *RuleSet, v6 bool) string {
	var b strings.Builder
	b.WriteString("iptables-save\nip6tables-save\n")
	b.WriteString(rs.Restore(IPv4))
	if v6 {
		b.WriteString(rs.Restore(IPv6))
	}
	b.WriteString("iptables-save\n")
	if v6 {
		b.WriteString("ip6tables-save\n")
	}
	return b.String()
}

// conformanceDir finds ../shared/conformance/<name> by walking up from the test's
// working directory, and fails the test when it is missing.
func conformanceDir(t *testing.T, name string) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; ; d = filepath.Dir(d) {
		p := filepath.Join(d, "shared", "conformance", name)
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
		if filepath.Dir(d) == d {
			t.Fatalf("no shared/conformance/%s above %s", name, wd)
		}
	}
}
