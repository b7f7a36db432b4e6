package iptables

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os/exec"
	"strings"
)

// Commands names one family's netfilter tools. Empty fields take the defaults.
type Commands struct {
	Restore string // iptables-restore
	Save    string // iptables-save
	Tables  string // iptables
}

// Exec runs argv with stdin and returns its standard output. Its error names the
// command and carries what it printed on standard error.
type Exec func(ctx context.Context, argv []string, stdin string) ([]byte, error)

// Runner applies capture rules to, and removes them from, a network namespace by
// running the netfilter tools. A Runner holds no state between calls. Calls for the
// same namespace must not overlap: each reads the rules, then changes them.
type Runner struct {
	// Prefix is put before every command, such as {"ip", "netns", "exec", "pod1"}
	// to work inside another network namespace. Empty means the current one.
	Prefix []string
	// IPv4 and IPv6 name the tools; IP names ip(8), used for TPROXY routes and the
	// IPv6 passthrough address.
	IPv4, IPv6 Commands
	IP         string
	// Exec runs the commands; nil means os/exec.
	Exec Exec
	// Log gets a line per change; nil discards.
	Log *slog.Logger
}

// NewRunner returns a Runner with the standard tool names that runs its commands
// after prefix.
func NewRunner(log *slog.Logger, prefix ...string) *Runner {
	return &Runner{Prefix: prefix, Log: log}
}

func (r *Runner) commands(f Family) Commands {
	c, def := r.IPv4, Commands{Restore: "iptables-restore", Save: "iptables-save", Tables: "iptables"}
	if f == IPv6 {
		c, def = r.IPv6, Commands{Restore: "ip6tables-restore", Save: "ip6tables-save", Tables: "ip6tables"}
	}
	if c.Restore == "" {
		c.Restore = def.Restore
	}
	if c.Save == "" {
		c.Save = def.Save
	}
	if c.Tables == "" {
		c.Tables = def.Tables
	}
	return c
}

func (r *Runner) log() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

func (r *Runner) run(ctx context.Context, stdin string, args ...string) ([]byte, error) {
	argv := append(append([]string(nil), r.Prefix...), args...)
	run := r.Exec
	if run == nil {
		run = osExec
	}
	return run(ctx, argv, stdin)
}

// osExec runs argv with os/exec.
func osExec(ctx context.Context, argv []string, stdin string) ([]byte, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return stdout.Bytes(), fmt.Errorf("%s: %w: %s", strings.Join(argv, " "), err, msg)
		}
		return stdout.Bytes(), fmt.Errorf("%s: %w", strings.Join(argv, " "), err)
	}
	return stdout.Bytes(), nil
}

// Save reads family f's current rules with iptables-save.
func (r *Runner) Save(ctx context.Context, f Family) (State, error) {
	out, err := r.run(ctx, "", r.commands(f).Save)
	if err != nil {
		return nil, fmt.Errorf("read %s rules: %w", f, err)
	}
	return ParseSave(string(out)), nil
}

// families lists the families a config programs.
func families(cfg Config) []Family {
	if cfg.EnableIPv6 {
		return []Family{IPv4, IPv6}
	}
	return []Family{IPv4}
}

// Apply installs cfg's capture rules with iptables-restore --noflush, one
// transaction per family, plus the routes TPROXY needs. Rules already installed are
// removed first (as Cleanup does), so applying twice leaves one copy.
func (r *Runner) Apply(ctx context.Context, cfg Config) error {
	rs, err := Build(cfg)
	if err != nil {
		return err
	}
	for _, f := range families(cfg) {
		st, err := r.Save(ctx, f)
		if err != nil {
			return err
		}
		if err := r.cleanupFamily(ctx, f, st, &rs); err != nil {
			return err
		}
		if _, err := r.run(ctx, rs.Restore(f), r.commands(f).Restore, "--noflush"); err != nil {
			// iptables-restore commits table by table: take back what did get in.
			r.undo(ctx, f, &rs)
			return fmt.Errorf("apply %s rules: %w", f, err)
		}
		r.log().Info("capture rules applied", "family", f.String(), "rules", len(rs.Rules(f)))
	}
	return r.applyRoutes(ctx, cfg)
}

// undo removes what a failed restore may have left, as far as it can.
func (r *Runner) undo(ctx context.Context, f Family, rs *RuleSet) {
	st, err := r.Save(ctx, f)
	if err == nil {
		err = r.cleanupFamily(ctx, f, st, rs)
	}
	if err != nil {
		r.log().Warn("capture rules left half applied", "family", f.String(), "err", err)
	}
}

// Cleanup removes the capture rules: every jump to an ISTIO_* chain and every
// ISTIO_* chain, in both families, plus the rules cfg puts straight into built-in
// chains (interface exclusions, TPROXY marks) and the TPROXY routes. It is
// idempotent and succeeds when nothing is installed. ip6tables is skipped when cfg
// does not enable IPv6 and ip6tables-save cannot run.
func (r *Runner) Cleanup(ctx context.Context, cfg Config) error {
	// Know cfg's IPv6 rules too: they may be installed even if cfg no longer asks.
	both := cfg
	both.EnableIPv6 = true
	rs, err := Build(both)
	if err != nil {
		return err
	}
	for _, f := range []Family{IPv4, IPv6} {
		st, err := r.Save(ctx, f)
		if err != nil {
			if f == IPv6 && !cfg.EnableIPv6 {
				r.log().Debug("ip6tables not cleaned", "err", err)
				continue
			}
			return err
		}
		if err := r.cleanupFamily(ctx, f, st, &rs); err != nil {
			return err
		}
	}
	r.cleanupRoutes(ctx, cfg)
	return nil
}

// cleanupFamily removes rs's rules in built-in chains that do not jump to an
// ISTIO_* chain, then the ISTIO_* chains and every jump to them found in st.
func (r *Runner) cleanupFamily(ctx context.Context, f Family, st State, rs *RuleSet) error {
	if err := r.deleteBuiltinRules(ctx, f, st, rs); err != nil {
		return err
	}
	input := st.cleanupInput()
	if input == "" {
		return nil
	}
	if _, err := r.run(ctx, input, r.commands(f).Restore, "--noflush"); err != nil {
		return fmt.Errorf("remove %s rules: %w", f, err)
	}
	r.log().Info("capture rules removed", "family", f.String())
	return nil
}

// deleteBuiltinRules deletes, with iptables -D, every copy of rs's rules in
// built-in chains that do not jump to ISTIO_* chains. iptables -C and -D compare
// rules by meaning, so the form the kernel prints them in does not matter.
func (r *Runner) deleteBuiltinRules(ctx context.Context, f Family, st State, rs *RuleSet) error {
	tool := r.commands(f).Tables
	for _, rule := range rs.Rules(f) {
		if !IsBuiltinChain(rule.Chain) || strings.HasPrefix(rule.Target(), ChainPrefix) {
			continue
		}
		// Each copy present is one rule in that chain at most.
		for range st.RulesIn(rule.Table, rule.Chain) {
			spec := append([]string{"-t", rule.Table, "-C", rule.Chain}, rule.Args...)
			if _, err := r.run(ctx, "", append([]string{tool}, spec...)...); err != nil {
				break // not there (any more)
			}
			spec[2] = "-D"
			if _, err := r.run(ctx, "", append([]string{tool}, spec...)...); err != nil {
				return fmt.Errorf("remove %s rule %q: %w", f, rule.String(), err)
			}
		}
	}
	return nil
}

// applyRoutes adds what cfg needs besides netfilter: the TPROXY policy routes and
// the IPv6 inbound passthrough address. Each is removed first so that applying
// twice leaves one copy.
func (r *Runner) applyRoutes(ctx context.Context, cfg Config) error {
	for _, argv := range routeCommands(cfg, "del") {
		_, _ = r.run(ctx, "", append([]string{r.ipTool()}, argv...)...)
	}
	for _, argv := range routeCommands(cfg, "add") {
		if _, err := r.run(ctx, "", append([]string{r.ipTool()}, argv...)...); err != nil {
			return fmt.Errorf("configure routes: %w", err)
		}
	}
	return nil
}

// cleanupRoutes removes the TPROXY routes and the IPv6 passthrough address; what is
// already gone is no error.
func (r *Runner) cleanupRoutes(ctx context.Context, cfg Config) {
	for _, argv := range routeCommands(cfg, "del") {
		if _, err := r.run(ctx, "", append([]string{r.ipTool()}, argv...)...); err != nil {
			r.log().Debug("route not removed", "err", err)
		}
	}
}

func (r *Runner) ipTool() string {
	if r.IP == "" {
		return "ip"
	}
	return r.IP
}

// routeCommands returns the ip(8) arguments ("add" or "del") for cfg: in TPROXY mode
// a policy rule and a local route send packets carrying the TPROXY mark to
// loopback, where the proxy's transparent socket takes them; with IPv6, ::6 on lo
// is the source of the proxy's inbound passthrough connections.
func routeCommands(cfg Config, op string) [][]string {
	var out [][]string
	mark, table := fmt.Sprint(cfg.TProxyMark), fmt.Sprint(cfg.TProxyRouteTable)
	if cfg.tproxy() {
		for _, f := range families(cfg) {
			fam := "inet"
			if f == IPv6 {
				fam = "inet6"
			}
			out = append(out,
				[]string{"-f", fam, "rule", op, "fwmark", mark, "lookup", table},
				[]string{"-f", fam, "route", op, "local", "default", "dev", "lo", "table", table})
		}
	}
	if cfg.EnableIPv6 {
		out = append(out, []string{"-6", "addr", op, inboundPassthroughV6, "dev", "lo"})
	}
	return out
}
