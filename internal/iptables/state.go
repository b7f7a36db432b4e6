package iptables

import (
	"slices"
	"strings"
)

// State is what iptables-save (or ip6tables-save) reports for one family: each
// table's chains and rules, in the order printed. Rules are kept as printed
// ("-A OUTPUT -j ISTIO_OUTPUT"), which is the kernel's normal form and not
// necessarily the form they were written in.
type State map[string]*Table

// Table is one table of a State.
type Table struct {
	Chains []string // every chain, built-in ones included
	Rules  []string // "-A CHAIN ..." lines
}

// ParseSave reads iptables-save output.
func ParseSave(out string) State {
	st := State{}
	var cur *Table
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		switch {
		case line == "", line == "COMMIT", strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "*"):
			cur = &Table{}
			st[strings.TrimSpace(line[1:])] = cur
		case cur == nil:
		case strings.HasPrefix(line, ":"):
			cur.Chains = append(cur.Chains, strings.Fields(line[1:])[0])
		case strings.HasPrefix(line, "-A "):
			cur.Rules = append(cur.Rules, line)
		}
	}
	return st
}

// IstioChains returns the ISTIO_* chains of table.
func (s State) IstioChains(table string) []string {
	t := s[table]
	if t == nil {
		return nil
	}
	var out []string
	for _, c := range t.Chains {
		if strings.HasPrefix(c, ChainPrefix) {
			out = append(out, c)
		}
	}
	return out
}

// RulesIn returns the rules of chain in table.
func (s State) RulesIn(table, chain string) []string {
	t := s[table]
	if t == nil {
		return nil
	}
	var out []string
	for _, r := range t.Rules {
		if savedChain(r) == chain {
			out = append(out, r)
		}
	}
	return out
}

// HasIstio reports whether any ISTIO_* chain, or any rule jumping to one, is present.
func (s State) HasIstio() bool {
	for _, t := range s {
		for _, c := range t.Chains {
			if strings.HasPrefix(c, ChainPrefix) {
				return true
			}
		}
		for _, r := range t.Rules {
			if strings.HasPrefix(savedTarget(r), ChainPrefix) {
				return true
			}
		}
	}
	return false
}

// cleanupInput renders iptables-restore --noflush input that removes every jump to
// an ISTIO_* chain from the other chains and then every ISTIO_* chain. It is ""
// when there is nothing to remove.
func (s State) cleanupInput() string {
	names := make([]string, 0, len(s))
	for name := range s {
		names = append(names, name)
	}
	slices.Sort(names)
	var b strings.Builder
	for _, name := range names {
		var lines []string
		for _, r := range s[name].Rules {
			if !strings.HasPrefix(savedChain(r), ChainPrefix) && strings.HasPrefix(savedTarget(r), ChainPrefix) {
				lines = append(lines, "-D"+strings.TrimPrefix(r, "-A"))
			}
		}
		chains := s.IstioChains(name)
		for _, c := range chains {
			lines = append(lines, "-F "+c)
		}
		for _, c := range chains {
			lines = append(lines, "-X "+c)
		}
		if len(lines) > 0 {
			b.WriteString("*" + name + "\n" + strings.Join(lines, "\n") + "\nCOMMIT\n")
		}
	}
	return b.String()
}

// savedChain returns the chain of a saved "-A CHAIN ..." rule.
func savedChain(rule string) string {
	f := strings.Fields(rule)
	if len(f) < 2 {
		return ""
	}
	return f[1]
}

// savedTarget returns the jump (-j) or goto (-g) target of a saved rule.
func savedTarget(rule string) string {
	f := strings.Fields(rule)
	for i := 2; i+1 < len(f); i++ {
		if f[i] == "-j" || f[i] == "-g" || f[i] == "--jump" || f[i] == "--goto" {
			return f[i+1]
		}
	}
	return ""
}
