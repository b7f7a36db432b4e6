package iptables

import (
	"slices"
	"strconv"
	"strings"
)

// Family is an IP family: iptables or ip6tables.
type Family int

// The two families.
const (
	IPv4 Family = iota
	IPv6
)

// String returns "IPv4" or "IPv6".
func (f Family) String() string {
	if f == IPv6 {
		return "IPv6"
	}
	return "IPv4"
}

// The chains weft (like Istio) creates. Every one starts with ChainPrefix.
const (
	ChainPrefix     = "ISTIO_"
	ChainInbound    = "ISTIO_INBOUND"
	ChainInRedirect = "ISTIO_IN_REDIRECT"
	ChainOutput     = "ISTIO_OUTPUT"
	ChainOutputDNS  = "ISTIO_OUTPUT_DNS"
	ChainRedirect   = "ISTIO_REDIRECT"
	ChainDivert     = "ISTIO_DIVERT"
	ChainTProxy     = "ISTIO_TPROXY"
	ChainDrop       = "ISTIO_DROP"
)

// Tables and built-in chains the rules use.
const (
	tableMangle = "mangle"
	tableNAT    = "nat"
	tableRaw    = "raw"
	prerouting  = "PREROUTING"
	output      = "OUTPUT"
)

// builtinChains are the chains netfilter itself provides; they are never created or
// deleted, only added to.
var builtinChains = []string{"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"}

// IsBuiltinChain reports whether chain is one of netfilter's own chains.
func IsBuiltinChain(chain string) bool { return slices.Contains(builtinChains, chain) }

// Rule is one netfilter rule: where it goes and its match and target arguments.
type Rule struct {
	Table string
	Chain string
	// Insert is the 1-based position for "-I"; 0 appends with "-A".
	Insert int
	// Args are the rule's arguments after the chain, such as
	// ["-p", "tcp", "-j", "ISTIO_REDIRECT"].
	Args []string
}

// String renders the rule as an iptables-restore line ("-A CHAIN args").
func (r Rule) String() string {
	head := []string{"-A", r.Chain}
	if r.Insert > 0 {
		head = []string{"-I", r.Chain, strconv.Itoa(r.Insert)}
	}
	return strings.Join(append(head, r.Args...), " ")
}

// Target returns the rule's final "-j" target when the rule ends in one, such as
// "ISTIO_REDIRECT" or "RETURN"; "" otherwise (as for "-j REDIRECT --to-ports 15001").
func (r Rule) Target() string {
	if n := len(r.Args); n >= 2 && r.Args[n-2] == "-j" {
		return r.Args[n-1]
	}
	return ""
}

// RuleSet is the capture rules of both families, in the order they are applied.
// V6 is empty unless the Config enables IPv6.
type RuleSet struct {
	V4 []Rule
	V6 []Rule
}

// Rules returns the rules of family f.
func (rs *RuleSet) Rules(f Family) []Rule {
	if f == IPv6 {
		return rs.V6
	}
	return rs.V4
}

// Restore renders family f's rules as iptables-restore input for --noflush, exactly
// as istio-iptables writes it: tables in name order, each with "-N" for the chains
// it creates (chains with rules first, in order of their first rule, then chains
// only jumped to), the rules in order, and COMMIT. Tables without rules are left
// out; a family without rules renders as "".
func (rs *RuleSet) Restore(f Family) string {
	rules := rs.Rules(f)
	tables := map[string][]string{}
	seen := map[string]bool{}
	declare := func(table, chain string) {
		if key := table + ":" + chain; !seen[key] && !IsBuiltinChain(chain) {
			seen[key] = true
			tables[table] = append(tables[table], "-N "+chain)
		}
	}
	for _, r := range rules {
		declare(r.Table, r.Chain)
	}
	for _, r := range rules {
		if t := r.Target(); strings.HasPrefix(t, ChainPrefix) {
			declare(r.Table, t)
		}
	}
	for _, r := range rules {
		tables[r.Table] = append(tables[r.Table], r.String())
	}
	var b strings.Builder
	names := make([]string, 0, len(tables))
	for name := range tables {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b.WriteString("* " + name + "\n")
		for _, line := range tables[name] {
			b.WriteString(line + "\n")
		}
		b.WriteString("COMMIT\n")
	}
	return b.String()
}

// Chains returns the chains family f's rules create, by table.
func (rs *RuleSet) Chains(f Family) map[string][]string {
	out := map[string][]string{}
	for _, r := range rs.Rules(f) {
		for _, c := range []string{r.Chain, r.Target()} {
			if strings.HasPrefix(c, ChainPrefix) && !slices.Contains(out[r.Table], c) {
				out[r.Table] = append(out[r.Table], c)
			}
		}
	}
	return out
}
