package cli

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/weftmesh/weft/internal/iptables"
)

func newIptablesCmd() *cobra.Command {
	var dryRun, cleanup bool
	cmd := &cobra.Command{
		Use:   "iptables [flags]",
		Short: "Program a pod's traffic capture rules, as istio-iptables (istio-init) does",
		Long: `iptables installs the netfilter rules that send a pod's outbound TCP to the sidecar
on 15001 and its inbound TCP to 15006, leaving the proxy's own traffic (uid/gid 1337)
alone. It takes istio-iptables' flags, and each flag can also be set from the
environment variable named after it (ISTIO_INBOUND_PORTS for --istio-inbound-ports).
ISTIO_OUTBOUND_OWNER_GROUPS, ISTIO_OUTBOUND_OWNER_GROUPS_EXCLUDE and
ISTIO_OUTBOUND_IPV4_LOOPBACK_CIDR are read from the environment only.

Run it inside the pod's network namespace (ip netns exec NAME weft iptables ...).`,
		Example: `  weft iptables -p 15001 -z 15006 -u 1337 -m REDIRECT -i '*' -b '*' -d 15090,15021,15020
  weft iptables -b '*' -i '*' --dry-run
  weft iptables --cleanup`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runIptables(cmd, dryRun, cleanup)
		},
	}
	fl := cmd.Flags()
	for _, s := range iptables.Settings() {
		switch {
		case s.Flag == "":
		case s.Bool:
			fl.BoolP(s.Flag, s.Short, s.Default == "true", s.Usage)
		default:
			fl.StringP(s.Flag, s.Short, s.Default, s.Usage)
		}
	}
	fl.BoolVarP(&dryRun, "dry-run", "n", false, "print the iptables-restore input instead of applying it")
	fl.BoolVar(&cleanup, "cleanup", false,
		"remove the capture rules (ISTIO_* chains and the jumps to them) instead of installing them")
	return cmd
}

// runIptables prints, applies or removes the rules the flags describe.
func runIptables(cmd *cobra.Command, dryRun, cleanup bool) error {
	if dryRun && cleanup {
		return errors.New("--dry-run prints the rules to install; it cannot be combined with --cleanup")
	}
	cfg, err := iptablesConfig(cmd.Flags(), os.LookupEnv)
	if err != nil {
		return err
	}
	if dryRun {
		return printRestore(cmd.OutOrStdout(), cfg)
	}
	r := iptables.NewRunner(slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil)))
	if cleanup {
		return r.Cleanup(cmd.Context(), cfg)
	}
	return r.Apply(cmd.Context(), cfg)
}

// iptablesConfig turns the flags given, then the environment, into a capture
// config. Like istio-iptables, it reads the DNS servers from /etc/resolv.conf when
// DNS is captured, and turns IPv6 on when the first global address is IPv6, unless
// --dns-servers or --ipv6 say otherwise.
func iptablesConfig(fl *pflag.FlagSet, lookupEnv func(string) (string, bool)) (iptables.Config, error) {
	values := map[string]string{}
	given := map[string]bool{}
	for _, s := range iptables.Settings() {
		if s.Flag != "" && fl.Changed(s.Flag) {
			values[s.Flag] = fl.Lookup(s.Flag).Value.String()
			given[s.Name()] = true
			continue
		}
		for _, e := range s.Env {
			if _, ok := lookupEnv(e); ok {
				given[s.Name()] = true
			}
		}
	}
	cfg, err := iptables.Configure(values, lookupEnv)
	if err != nil {
		return cfg, err
	}
	if !given["ipv6"] {
		cfg.EnableIPv6 = firstGlobalAddrIsIPv6()
	}
	if cfg.RedirectDNS && !cfg.CaptureAllDNS && !given["dns-servers"] {
		if err := resolvConfServers(&cfg, "/etc/resolv.conf"); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// resolvConfServers sets cfg's DNS servers from a resolv.conf.
func resolvConfServers(cfg *iptables.Config, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("dns servers: %w", err)
	}
	defer f.Close()
	servers, err := iptables.ReadResolvConf(f)
	if err != nil {
		return fmt.Errorf("dns servers: %w", err)
	}
	cfg.DNSServersV4, cfg.DNSServersV6, err = iptables.SplitAddrs(servers)
	if err != nil {
		return fmt.Errorf("dns servers in %s: %w", path, err)
	}
	return nil
}

// firstGlobalAddrIsIPv6 reports whether the first address that is neither loopback
// nor link-local is IPv6: istio-iptables' test for an IPv6 pod.
func firstGlobalAddrIsIPv6() bool {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return false
	}
	for _, a := range addrs {
		ipnet, ok := a.(*net.IPNet)
		if !ok {
			continue
		}
		ip, ok := netip.AddrFromSlice(ipnet.IP)
		if ip = ip.Unmap(); ok && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !ip.IsLinkLocalMulticast() {
			return ip.Is6()
		}
	}
	return false
}

// printRestore writes the iptables-restore input for each family, each under a
// comment naming the command it is for.
func printRestore(w io.Writer, cfg iptables.Config) error {
	rs, err := iptables.Build(cfg)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "# iptables-restore --noflush\n%s", rs.Restore(iptables.IPv4)); err != nil {
		return err
	}
	if cfg.EnableIPv6 {
		_, err = fmt.Fprintf(w, "# ip6tables-restore --noflush\n%s", rs.Restore(iptables.IPv6))
	}
	return err
}
