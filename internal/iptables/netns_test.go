package iptables

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// requireRoot fails the test without root, unless WEFT_SKIP_PRIVILEGED=1 asks to
// skip privileged tests.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("WEFT_SKIP_PRIVILEGED") == "1" {
		t.Skip("needs root for network namespaces; skipped because WEFT_SKIP_PRIVILEGED=1")
	}
	t.Fatal("needs root for network namespaces (set WEFT_SKIP_PRIVILEGED=1 to skip)")
}

// newNetns creates a network namespace that is deleted when the test ends, and
// returns a Runner working inside it.
func newNetns(t *testing.T) (*Runner, string) {
	t.Helper()
	name := fmt.Sprintf("weft-ipt-%d-%d", os.Getpid(), rand.IntN(1_000_000))
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del: %v: %s", err, out)
		}
	})
	return NewRunner(nil, "ip", "netns", "exec", name), name
}

func netnsConfigs() map[string]Config {
	full := SidecarConfig()
	full.EnableIPv6 = true
	full.RedirectDNS = true
	full.DNSServersV4 = []string{"10.96.0.10"}
	full.DNSServersV6 = []string{"fd00::10"}
	full.DropInvalid = true
	full.ExcludeInterfaces = []string{"eth9"}
	full.KubeVirtInterfaces = []string{"veth9"}
	full.OutboundPortsExclude = []uint16{9999}
	full.OutboundIPRangesExclude = []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}
	full.OwnerGroupsExclude = []string{"888"}

	tproxy := SidecarConfig()
	tproxy.Mode = ModeTProxy
	tproxy.ExcludeInterfaces = []string{"eth9"}
	return map[string]Config{"redirect-dns-ipv6": full, "tproxy": tproxy, "default": DefaultConfig()}
}

// TestNetns applies real rules in a fresh network namespace: the ISTIO_* chains
// appear, applying again changes nothing, and cleanup leaves no rule behind.
func TestNetns(t *testing.T) {
	requireRoot(t)
	for name, cfg := range netnsConfigs() {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			r, ns := newNetns(t)
			if err := r.Cleanup(ctx, cfg); err != nil {
				t.Fatalf("cleanup with nothing installed: %v", err)
			}
			if err := r.Apply(ctx, cfg); err != nil {
				t.Fatal(err)
			}
			rs, _ := Build(cfg)
			first := saveAll(t, r, cfg)
			for f, st := range first {
				checkInstalled(t, f, st, &rs)
			}
			if out := ipOutput(t, ns, "rule"); cfg.tproxy() != strings.Contains(out, "lookup 133") {
				t.Errorf("TPROXY %v, policy rules:\n%s", cfg.tproxy(), out)
			}
			if err := r.Apply(ctx, cfg); err != nil {
				t.Fatalf("apply again: %v", err)
			}
			if diff := cmp.Diff(first, saveAll(t, r, cfg)); diff != "" {
				t.Errorf("applying twice changed the rules (-once +twice):\n%s", diff)
			}
			for range 2 {
				if err := r.Cleanup(ctx, cfg); err != nil {
					t.Fatalf("cleanup: %v", err)
				}
				for f, st := range saveAll(t, r, cfg) {
					checkClean(t, f, st)
				}
			}
			if out := ipOutput(t, ns, "rule"); strings.Contains(out, "fwmark") {
				t.Errorf("TPROXY policy rule left behind:\n%s", out)
			}
		})
	}
}

func saveAll(t *testing.T, r *Runner, cfg Config) map[Family]State {
	t.Helper()
	out := map[Family]State{}
	for _, f := range families(cfg) {
		st, err := r.Save(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		out[f] = st
	}
	return out
}

// checkInstalled compares the installed chains and rule counts with the rule set.
func checkInstalled(t *testing.T, f Family, st State, rs *RuleSet) {
	t.Helper()
	for table, chains := range rs.Chains(f) {
		if st[table] == nil {
			t.Errorf("%s: no %s table after apply", f, table)
			continue
		}
		got := st.IstioChains(table)
		slices.Sort(got)
		slices.Sort(chains)
		if !slices.Equal(got, chains) {
			t.Errorf("%s %s: chains %v, want %v", f, table, got, chains)
		}
		want := 0
		for _, r := range rs.Rules(f) {
			if r.Table == table {
				want++
			}
		}
		if n := len(st[table].Rules); n != want {
			t.Errorf("%s %s: %d rules installed, want %d:\n%s", f, table, n, want, strings.Join(st[table].Rules, "\n"))
		}
	}
}

// checkClean fails when any rule or ISTIO_* chain is left; the namespace started
// with none.
func checkClean(t *testing.T, f Family, st State) {
	t.Helper()
	for table, tb := range st {
		if len(tb.Rules) > 0 || len(st.IstioChains(table)) > 0 {
			t.Errorf("%s %s after cleanup: chains %v, rules:\n%s", f, table, tb.Chains, strings.Join(tb.Rules, "\n"))
		}
	}
}

func ipOutput(t *testing.T, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns, "ip"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %v: %v: %s", args, err, out)
	}
	return string(out)
}

// TestNetnsCleanupWithoutFlags: `weft iptables --cleanup` given no flags still
// removes every ISTIO_* chain and every jump to one, in both families.
func TestNetnsCleanupWithoutFlags(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	r, _ := newNetns(t)
	cfg := netnsConfigs()["redirect-dns-ipv6"]
	if err := r.Apply(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	if err := r.Cleanup(ctx, DefaultConfig()); err != nil {
		t.Fatal(err)
	}
	for f, st := range saveAll(t, r, cfg) {
		if st.HasIstio() {
			t.Errorf("%s: ISTIO_* chains or jumps left: %+v", f, st)
		}
	}
}
