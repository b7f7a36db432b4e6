package localmesh

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Network is the local mesh's network: a bridge, a pod range on it and a range of
// service VIPs. Pods are network namespaces with a veth on the bridge.
type Network struct {
	// Bridge is the bridge device ("weft0").
	Bridge string
	// PodCIDR holds the bridge's address (the first) and the pods' addresses.
	PodCIDR netip.Prefix
	// ServiceCIDR holds the ClusterIPs.
	ServiceCIDR netip.Prefix
	// Prefix names the network namespaces ("weft-").
	Prefix string
	// Exec runs commands; tests may replace it.
	Exec func(ctx context.Context, name string, args ...string) error

	nextPod, nextService netip.Addr
}

// DefaultNetwork returns the local mesh's default network.
func DefaultNetwork() *Network {
	return &Network{
		Bridge: "weft0", PodCIDR: netip.MustParsePrefix("10.244.0.0/16"),
		ServiceCIDR: netip.MustParsePrefix("10.96.0.0/16"), Prefix: "weft-", Exec: run,
	}
}

// run executes a command and returns its error with its output.
func run(ctx context.Context, name string, args ...string) error {
	out, err := exec.CommandContext(ctx, name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// Gateway is the bridge's address: the pods' default route, and where they reach the
// host (the control plane).
func (n *Network) Gateway() netip.Addr { return n.PodCIDR.Addr().Next() }

// AllocatePod returns the next pod address.
func (n *Network) AllocatePod() (netip.Addr, error) {
	if !n.nextPod.IsValid() {
		n.nextPod = n.Gateway()
	}
	n.nextPod = n.nextPod.Next()
	if !n.PodCIDR.Contains(n.nextPod) {
		return netip.Addr{}, fmt.Errorf("pod range %s is full", n.PodCIDR)
	}
	return n.nextPod, nil
}

// AllocateService returns the next ClusterIP.
func (n *Network) AllocateService() (netip.Addr, error) {
	if !n.nextService.IsValid() {
		n.nextService = n.ServiceCIDR.Addr().Next()
	} else {
		n.nextService = n.nextService.Next()
	}
	if !n.ServiceCIDR.Contains(n.nextService) {
		return netip.Addr{}, fmt.Errorf("service range %s is full", n.ServiceCIDR)
	}
	return n.nextService, nil
}

// Up creates the bridge with the gateway address, and lets bridged traffic through a
// host firewall that drops forwarded packets.
func (n *Network) Up(ctx context.Context) error {
	gw := netip.PrefixFrom(n.Gateway(), n.PodCIDR.Bits()).String()
	steps := [][]string{
		{"ip", "link", "add", n.Bridge, "type", "bridge"},
		{"ip", "addr", "add", gw, "dev", n.Bridge},
		{"ip", "link", "set", n.Bridge, "up"},
		{"iptables", "-I", "FORWARD", "-i", n.Bridge, "-o", n.Bridge, "-j", "ACCEPT", "-m", "comment", "--comment", "weft"},
	}
	for _, s := range steps {
		if err := n.Exec(ctx, s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// Down removes the bridge and its firewall rule; a missing piece is not an error.
func (n *Network) Down(ctx context.Context) error {
	n.Exec(ctx, "iptables", "-D", "FORWARD", "-i", n.Bridge, "-o", n.Bridge, "-j", "ACCEPT", "-m", "comment", "--comment", "weft")
	if _, err := os.Stat("/sys/class/net/" + n.Bridge); err != nil {
		return nil
	}
	return n.Exec(ctx, "ip", "link", "del", n.Bridge)
}

// NetnsName is the network namespace of a pod.
func (n *Network) NetnsName(namespace, pod string) string {
	name := n.Prefix + namespace + "-" + pod
	if len(name) > 60 {
		name = name[:51] + "-" + shortHash(name)
	}
	return name
}

// vethName is the host side of a pod's veth: interface names are at most 15 bytes.
func (n *Network) vethName(netns string) string { return "wv" + shortHash(netns)[:10] }

func shortHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:8+4]
}

// AddPod creates a pod's network namespace with its address, loopback and default
// route, and its /etc/netns hosts file so that services resolve to their ClusterIPs.
func (n *Network) AddPod(ctx context.Context, netns string, ip netip.Addr, hosts string) error {
	veth := n.vethName(netns)
	cidr := netip.PrefixFrom(ip, n.PodCIDR.Bits()).String()
	steps := [][]string{
		{"ip", "netns", "add", netns},
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", netns},
		{"ip", "link", "set", veth, "master", n.Bridge},
		{"ip", "link", "set", veth, "up"},
		{"ip", "-n", netns, "addr", "add", cidr, "dev", "eth0"},
		{"ip", "-n", netns, "link", "set", "eth0", "up"},
		{"ip", "-n", netns, "link", "set", "lo", "up"},
		{"ip", "-n", netns, "route", "add", "default", "via", n.Gateway().String()},
	}
	for _, s := range steps {
		if err := n.Exec(ctx, s[0], s[1:]...); err != nil {
			return fmt.Errorf("pod %s: %w", netns, err)
		}
	}
	return writeNetnsFiles(netns, hosts)
}

// DeletePod removes a pod's namespace (with its veth) and files.
func (n *Network) DeletePod(ctx context.Context, netns string) error {
	os.RemoveAll(filepath.Join("/etc/netns", netns))
	if _, err := os.Stat(filepath.Join("/run/netns", netns)); err != nil {
		return nil
	}
	return n.Exec(ctx, "ip", "netns", "del", netns)
}

// writeNetnsFiles writes the files `ip netns exec` bind-mounts over /etc in the pod:
// hosts, and a resolv.conf without servers so that names not in hosts fail fast.
func writeNetnsFiles(netns, hosts string) error {
	dir := filepath.Join("/etc/netns", netns)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "hosts"), []byte(hosts), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "resolv.conf"), []byte("options ndots:0 timeout:1 attempts:1\n"), 0o644)
}

// HostsFile renders a pod's /etc/hosts: localhost, the pod itself, and every service
// ("name.namespace" keys) under its qualified names, and its short name in the pod's
// own namespace.
func HostsFile(podName, podNamespace string, podIP netip.Addr, services map[string]netip.Addr, domain string) string {
	var b strings.Builder
	b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost\n")
	fmt.Fprintf(&b, "%s\t%s\n", podIP, podName)
	for _, key := range sortedKeys(services) {
		name, ns, _ := strings.Cut(key, ".")
		fmt.Fprintf(&b, "%s\t%s.%s.svc.%s %s.%s.svc %s.%s", services[key], name, ns, domain, name, ns, name, ns)
		if ns == podNamespace {
			fmt.Fprintf(&b, " %s", name)
		}
		b.WriteByte('\n')
	}
	return b.String()
}
