package localmesh

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// podRun is one running pod.
type podRun struct {
	name, namespace string
	netns           string
	ip              netip.Addr // the sidecar's address: the pod's endpoints
	appIP           netip.Addr // where the apps listen: ip, or an address of their own in host mode
	labels          map[string]string
	spec            PodSpec
	// health is the sidecar's readiness URL; probe lists the app ports.
	health string
	probe  []string
	ready  atomic.Bool
	appUp  atomic.Bool
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (p *podRun) stop() {
	if p.cancel != nil {
		p.cancel()
		p.wg.Wait()
	}
}

// podSpecs expands Deployments (replicas) and Pods into the pods to run.
func (m *Mesh) podSpecs() []*podRun {
	var out []*podRun
	for _, d := range m.man.Deployments {
		n := 1
		if d.Spec.Replicas != nil {
			n = *d.Spec.Replicas
		}
		for i := 0; i < n; i++ {
			out = append(out, &podRun{name: fmt.Sprintf("%s-%d", d.Metadata.Name, i), namespace: d.Metadata.Namespace,
				labels: d.Spec.Template.Metadata.Labels, spec: d.Spec.Template.Spec})
		}
	}
	for _, p := range m.man.Pods {
		out = append(out, &podRun{name: p.Metadata.Name, namespace: p.Metadata.Namespace, labels: p.Metadata.Labels, spec: p.Spec})
	}
	return out
}

// startPods creates every pod: its network (a namespace with capture rules, or
// addresses of its own in host mode), its sidecar, and, once the sidecar is ready, its
// apps.
func (m *Mesh) startPods(ctx context.Context) error {
	for _, p := range m.podSpecs() {
		m.pods = append(m.pods, p)
		if err := m.addPod(ctx, p); err != nil {
			return err
		}
		if err := m.startSidecar(ctx, p); err != nil {
			return err
		}
	}
	for _, p := range m.pods {
		m.watchPod(p)
	}
	return nil
}

// addPod gives a pod its addresses and, with namespaces, its namespace and capture.
func (m *Mesh) addPod(ctx context.Context, p *podRun) error {
	if m.hostMode() {
		var err error
		p.ip, p.appIP, err = m.host.allocate()
		return err
	}
	ip, err := m.net.AllocatePod()
	if err != nil {
		return err
	}
	p.ip, p.appIP, p.netns = ip, ip, m.net.NetnsName(p.namespace, p.name)
	m.state.Netns = append(m.state.Netns, p.netns)
	if err := m.state.Save(); err != nil {
		return err
	}
	if err := m.net.AddPod(ctx, p.netns, ip, HostsFile(p.name, p.namespace, ip, m.hostsMap(), "cluster.local")); err != nil {
		return err
	}
	return m.capture(ctx, p)
}

// capture programs the pod's iptables as istio-init does: all TCP in and out through
// the sidecar, the proxy's own uid excluded, the agent ports left alone.
func (m *Mesh) capture(ctx context.Context, p *podRun) error {
	return m.net.Exec(ctx, "ip", "netns", "exec", p.netns, m.opts.Self, "iptables",
		"-p", "15001", "-z", "15006", "-u", "1337", "-m", "REDIRECT", "-i", "*", "-x", "", "-b", "*", "-d", "15090,15021,15020")
}

// startSidecar starts the pod's weft proxy, driven by the control plane: as uid 1337
// in the pod's namespace, or, in host mode, without capture on the pod's address.
func (m *Mesh) startSidecar(ctx context.Context, p *podRun) error {
	id := fmt.Sprintf("sidecar~%s~%s.%s~%s.svc.cluster.local", p.ip, p.name, p.namespace, p.namespace)
	admin, uid := "127.0.0.1:15000", 1337
	if m.hostMode() {
		admin, uid = net.JoinHostPort(p.ip.String(), "15000"), 0
	}
	args := []string{"proxy", "--xds", m.xdsAddr, "--node-id", id, "--concurrency", "1",
		"--admin-address", admin, "--health-address", net.JoinHostPort(p.ip.String(), "15021"), "--drain-time-s", "5",
		"--metadata", "NAMESPACE=" + p.namespace, "--metadata", "INSTANCE_IPS=" + p.ip.String(),
		"--metadata", "SERVICE_ACCOUNT=" + p.spec.ServiceAccountName, "--log-level", "warning"}
	if m.hostMode() {
		args = append(args, "--metadata", "INTERCEPTION_MODE=NONE", "--metadata", "WEFT_APP_ADDRESS="+p.appIP.String())
	}
	for _, k := range sortedKeys(p.labels) {
		args = append(args, "--label", k+"="+p.labels[k])
	}
	p.health = "http://" + net.JoinHostPort(p.ip.String(), "15021") + "/healthz/ready"
	return m.sup.Start(ctx, Process{Name: p.name + "/istio-proxy", Netns: p.netns, UID: uid, Path: m.opts.Self, Args: args})
}

// startApps starts the pod's containers.
func (m *Mesh) startApps(ctx context.Context, p *podRun) error {
	for _, c := range p.spec.Containers {
		bind := ""
		if m.hostMode() {
			bind = p.appIP.String()
		}
		path, args, err := appCommand(m.opts.Self, c, bind)
		if err != nil {
			return fmt.Errorf("pod %s: %w", p.name, err)
		}
		for _, port := range c.Ports {
			p.probe = append(p.probe, net.JoinHostPort(p.appIP.String(), strconv.Itoa(int(port.ContainerPort))))
		}
		env := containerEnv(c, p.name)
		if m.hostMode() {
			env = append(env, "HTTP_PROXY="+p.proxyURL(), "WEFT_APP_ADDRESS="+p.appIP.String())
		}
		proc := Process{Name: p.name + "/" + c.Name, Netns: p.netns, Path: path, Args: args, Env: env}
		if err := m.sup.Start(ctx, proc); err != nil {
			return err
		}
	}
	return nil
}

// watchPod follows a pod's readiness: the apps start once the sidecar is ready, and
// the pod is ready, its endpoints published, while the sidecar is ready and the apps'
// ports accept connections.
func (m *Mesh) watchPod(p *podRun) {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		client := &http.Client{Timeout: time.Second}
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			ready := m.probePod(ctx, client, p)
			if ready != p.ready.Load() {
				p.ready.Store(ready)
				m.publishEndpoints()
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
}

// probePod checks a pod once, starting its apps when its sidecar first becomes ready.
func (m *Mesh) probePod(ctx context.Context, client *http.Client, p *podRun) bool {
	resp, err := client.Get(p.health)
	if err != nil {
		return false
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	if !p.appUp.Load() {
		if err := m.startApps(ctx, p); err != nil {
			m.log.Error("starting apps failed", "pod", p.name, "error", err)
			return false
		}
		p.appUp.Store(true)
	}
	for _, addr := range p.probe {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		c.Close()
	}
	return true
}

// publishEndpoints sets every service's endpoints from the ready pods it selects.
func (m *Mesh) publishEndpoints() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.services {
		for _, sp := range s.svc.Spec.Ports {
			var eps []*mesh.Endpoint
			for _, p := range m.pods {
				if p.namespace != s.svc.Metadata.Namespace || !selects(s.svc.Spec.Selector, p.labels) || !p.ready.Load() {
					continue
				}
				eps = append(eps, &mesh.Endpoint{
					Address: p.ip.String(), Port: targetPort(sp, p), ServicePort: sp.Port, Labels: p.labels,
					ServiceAccount: mesh.SpiffeID("cluster.local", p.namespace, orDefault(p.spec.ServiceAccountName, "default")),
					Namespace:      p.namespace, Workload: p.name, Weight: 1, Healthy: true,
				})
			}
			m.reg.SetEndpoints(s.mesh.Hostname, sp.Port, eps)
		}
	}
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
