package localmesh

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
)

// Mode is how pods are isolated.
type Mode string

const (
	// ModeAuto picks namespaces when weft up runs as root with the ip tool, else host.
	ModeAuto Mode = "auto"
	// ModeNamespaces runs each pod in a network namespace with Istio's iptables
	// capture: apps do not know the mesh is there.
	ModeNamespaces Mode = "namespaces"
	// ModeHost runs pods on the host network, each on loopback addresses of its own:
	// the sidecar on 127.1.x.y (the pod's endpoint address), its apps on 127.2.x.y.
	// Without capture, an app reaches the mesh through its sidecar as an explicit HTTP
	// proxy (HTTP_PROXY), and the mesh reaches the app through sidecar listeners on the
	// pod's address. Needs no privileges.
	ModeHost Mode = "host"
)

// ParseMode reads a --mode value.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case ModeAuto, ModeNamespaces, ModeHost:
		return m, nil
	}
	return "", fmt.Errorf("mode %q: want auto, namespaces or host", s)
}

// resolveMode turns auto into the mode this machine supports.
func resolveMode(m Mode) (Mode, error) {
	canNamespaces := os.Geteuid() == 0
	if canNamespaces {
		if _, err := exec.LookPath("ip"); err != nil {
			canNamespaces = false
		}
	}
	switch m {
	case "", ModeAuto:
		if canNamespaces {
			return ModeNamespaces, nil
		}
		return ModeHost, nil
	case ModeNamespaces:
		if !canNamespaces {
			return "", errors.New("--mode namespaces needs root and the ip tool (iproute2); run with sudo, or use --mode host")
		}
	}
	return m, nil
}

// HostAddresses are host mode's pod addresses: the n-th pod's sidecar gets the n-th
// address of Sidecars (the pod's endpoint address), its apps the n-th of Apps. The
// defaults are 127.1.0.0/16 and 127.2.0.0/16: all of 127.0.0.0/8 belongs to the
// loopback interface, so binding them needs nothing set up.
type HostAddresses struct {
	Sidecars, Apps netip.Prefix
	n              int
}

// DefaultHostAddresses returns host mode's default address ranges.
func DefaultHostAddresses() *HostAddresses {
	return &HostAddresses{Sidecars: netip.MustParsePrefix("127.1.0.0/16"), Apps: netip.MustParsePrefix("127.2.0.0/16")}
}

func (h *HostAddresses) allocate() (sidecar, app netip.Addr, err error) {
	h.n++
	sidecar, app = nth(h.Sidecars, h.n), nth(h.Apps, h.n)
	if !h.Sidecars.Contains(sidecar) || !h.Apps.Contains(app) || !sidecar.IsLoopback() || !app.IsLoopback() {
		return netip.Addr{}, netip.Addr{}, fmt.Errorf("host mode: no loopback address left for pod %d in %s and %s", h.n, h.Sidecars, h.Apps)
	}
	return sidecar, app, nil
}

// nth is the n-th address after a prefix's first.
func nth(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr()
	for i := 0; i < n; i++ {
		a = a.Next()
	}
	return a
}

// hostMode reports whether the mesh runs without namespaces.
func (m *Mesh) hostMode() bool { return m.mode == ModeHost }

// proxyURL is the sidecar's explicit HTTP proxy in host mode.
func (p *podRun) proxyURL() string { return "http://" + p.ip.String() + ":15001" }
