package cli

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestIptablesDryRun: --dry-run prints the iptables-restore input of the sidecar
// injector's usual flags, as istio-iptables would write it.
func TestIptablesDryRun(t *testing.T) {
	out, err := run(t, "iptables", "--dry-run", "--ipv6=false",
		"-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT",
		"-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020")
	if err != nil {
		t.Fatal(err)
	}
	want := `# iptables-restore --noflush
* nat
-N ISTIO_INBOUND
-N ISTIO_REDIRECT
-N ISTIO_IN_REDIRECT
-N ISTIO_OUTPUT
-A ISTIO_INBOUND -p tcp --dport 15008 -j RETURN
-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 15001
-A ISTIO_IN_REDIRECT -p tcp -j REDIRECT --to-ports 15006
-A PREROUTING -p tcp -j ISTIO_INBOUND
-A ISTIO_INBOUND -p tcp --dport 15090 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15021 -j RETURN
-A ISTIO_INBOUND -p tcp --dport 15020 -j RETURN
-A ISTIO_INBOUND -p tcp -j ISTIO_IN_REDIRECT
-A OUTPUT -j ISTIO_OUTPUT
-A ISTIO_OUTPUT -o lo -s 127.0.0.6/32 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --uid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --uid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -o lo ! -d 127.0.0.1/32 -p tcp ! --dport 15008 -m owner --gid-owner 1337 -j ISTIO_IN_REDIRECT
-A ISTIO_OUTPUT -o lo -m owner ! --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -m owner --gid-owner 1337 -j RETURN
-A ISTIO_OUTPUT -d 127.0.0.1/32 -j RETURN
-A ISTIO_OUTPUT -j ISTIO_REDIRECT
COMMIT
`
	if diff := cmp.Diff(want, out); diff != "" {
		t.Errorf("dry run (-want +got):\n%s", diff)
	}
}

// TestIptablesDryRunIPv6AndEnv: long flag names and environment variables set the
// same things as the short flags, and IPv6 adds the ip6tables-restore input.
func TestIptablesDryRunIPv6AndEnv(t *testing.T) {
	t.Setenv("ISTIO_INBOUND_PORTS", "4000")
	t.Setenv("ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE", "888")
	long, err := run(t, "iptables", "-n", "--ipv6", "--envoy-port", "16001", "--proxy-uid", "3",
		"--redirect-dns", "--dns-servers", "10.0.0.10,fd00::10")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("ISTIO_INBOUND_PORTS", "")
	short, err := run(t, "iptables", "-n", "--ipv6=true", "-p", "16001", "-u", "3", "-g", "3", "-b", "4000",
		"--redirect-dns=true", "--dns-servers", "10.0.0.10,fd00::10")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(short, long); diff != "" {
		t.Errorf("long flags and env vs short flags (-short +long):\n%s", diff)
	}
	for _, want := range []string{
		"# ip6tables-restore --noflush\n* nat\n",
		"-A ISTIO_REDIRECT -p tcp -j REDIRECT --to-ports 16001\n",
		"-A ISTIO_INBOUND -p tcp --dport 4000 -j ISTIO_IN_REDIRECT\n",
		"-A ISTIO_OUTPUT -m owner --gid-owner 888 -j RETURN\n",
		"-A ISTIO_OUTPUT_DNS -p udp --dport 53 -d fd00::10/128 -j REDIRECT --to-port 15053\n",
		"-A ISTIO_OUTPUT -m owner --gid-owner 3 -j RETURN\n",
	} {
		if !strings.Contains(long, want) {
			t.Errorf("dry run lacks %q:\n%s", want, long)
		}
	}
}

func TestIptablesRejectsBadFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-n", "-p", "http"}, `envoy-port: "http" is not a port number`},
		{[]string{"-n", "-m", "NAT"}, `istio-inbound-interception-mode: "NAT": want REDIRECT or TPROXY`},
		{[]string{"-n", "-x", "*"}, `istio-service-exclude-cidr: "*" would exclude every destination`},
		{[]string{"-n", "-i", "10.0.0.0/33"}, `istio-service-cidr: ip range: netip.ParsePrefix("10.0.0.0/33"): prefix length out of range`},
		{[]string{"-n", "--cleanup"}, "cannot be combined with --cleanup"},
	} {
		_, err := run(t, append([]string{"iptables"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}
