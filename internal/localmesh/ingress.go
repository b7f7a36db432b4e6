package localmesh

import (
	"context"
	"fmt"
	"net/netip"
)

// startIngress starts the ingress gateway: a weft proxy on the host network with Istio's
// ingress gateway labels, configured by Gateway and VirtualService, reachable on the
// ingress port.
func (m *Mesh) startIngress(ctx context.Context) error {
	labels := map[string]string{"istio": "ingressgateway", "app": "istio-ingressgateway"}
	p := &podRun{name: "istio-ingressgateway-0", namespace: "istio-system", ip: netip.MustParseAddr("127.0.0.1"), labels: labels}
	p.health = fmt.Sprintf("http://127.0.0.1:%d/healthz/ready", m.opts.IngressHealthPort)
	id := "router~127.0.0.1~istio-ingressgateway-0.istio-system~istio-system.svc.cluster.local"
	args := []string{"proxy", "--xds", m.xdsAddr, "--node-id", id, "--concurrency", "2",
		"--admin-address", fmt.Sprintf("127.0.0.1:%d", m.opts.IngressAdminPort), "--health-address", fmt.Sprintf("127.0.0.1:%d", m.opts.IngressHealthPort),
		"--metadata", "NAMESPACE=istio-system", "--label", "istio=ingressgateway", "--label", "app=istio-ingressgateway",
		"--drain-time-s", "5", "--log-level", "warning"}
	if err := m.sup.Start(ctx, Process{Name: p.name + "/istio-proxy", Path: m.opts.Self, Args: args}); err != nil {
		return err
	}
	p.appUp.Store(true) // the gateway has no app
	m.ingress = p
	m.pods = append(m.pods, p)
	m.watchPod(p)
	return nil
}

// IngressAdminURL is the ingress gateway's admin API.
func (m *Mesh) IngressAdminURL() string {
	return fmt.Sprintf("http://127.0.0.1:%d", m.opts.IngressAdminPort)
}

// IngressURL is where the ingress gateway answers.
func (m *Mesh) IngressURL() string { return fmt.Sprintf("http://127.0.0.1:%d", m.opts.IngressPort) }

// XDSAddress and MonitoringAddress are the control plane's addresses.
func (m *Mesh) XDSAddress() string        { return m.xdsAddr }
func (m *Mesh) MonitoringAddress() string { return m.monAddr }

// PodInfo describes a running pod for people.
type PodInfo struct {
	Name, Namespace string
	IP              string
	// Netns is the pod's network namespace ("" on the host network).
	Netns string
	// Admin is the sidecar's admin API, inside Netns when there is one.
	Admin string
	// Proxy is the sidecar's explicit HTTP proxy in host mode.
	Proxy string
	Ready bool
}

// Pods lists the pods.
func (m *Mesh) Pods() []PodInfo {
	var out []PodInfo
	for _, p := range m.pods {
		info := PodInfo{Name: p.name, Namespace: p.namespace, IP: p.ip.String(), Netns: p.netns, Ready: p.ready.Load()}
		switch {
		case p == m.ingress:
			info.Admin = m.IngressAdminURL()
		case m.hostMode():
			info.Admin, info.Proxy = "http://"+p.ip.String()+":15000", p.proxyURL()
		default:
			info.Admin = "http://127.0.0.1:15000"
		}
		out = append(out, info)
	}
	return out
}

// Services lists the services with their ClusterIPs.
func (m *Mesh) Services() map[string]string {
	out := map[string]string{}
	for _, s := range m.services {
		out[s.mesh.Hostname] = s.ip.String()
	}
	return out
}
