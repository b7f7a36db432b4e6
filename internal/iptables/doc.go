// Package iptables holds the sidecar's traffic capture rules as data: the netfilter
// rules that istio-iptables (istio-init) writes into a pod's network namespace so that
// outbound TCP reaches the proxy on 15001, inbound TCP reaches it on 15006, the
// proxy's own traffic (uid/gid 1337) is left alone and DNS can be sent to 15053.
//
// Build is a pure function from a Config to a RuleSet; RuleSet.Restore renders
// iptables-restore input byte for byte as Istio does. A Runner applies a Config with
// iptables-restore --noflush (and ip6tables-restore), reads the result back with
// iptables-save, and removes the rules again.
//
// The package must not import the proxy (internal/proxy/...) or the control plane
// (internal/control/...): it is run as a one-shot init step before either starts.
package iptables
