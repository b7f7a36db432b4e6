package localmesh

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/weftmesh/weft/internal/control"
	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/memory"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
)

// Options configure a local mesh.
type Options struct {
	// Paths are the Kubernetes and Istio YAML to run: files or directories. Directories
	// are watched for Istio config changes.
	Paths []string
	// Namespace is the namespace of objects that name none ("default").
	Namespace string
	// StateDir holds the mesh's state, logs and applied config.
	StateDir string
	// Self is the weft binary the pods' sidecars and apps run.
	Self string
	// IngressPort is the host port of the ingress gateway (8080).
	IngressPort int
	// IngressAdminPort and IngressHealthPort are the gateway's admin and readiness
	// ports on 127.0.0.1 (15100, 15121).
	IngressAdminPort, IngressHealthPort int
	// MonitoringAddress serves the control plane's /metrics and /debug endpoints
	// (127.0.0.1:15014).
	MonitoringAddress string
	// Mode isolates pods in network namespaces or runs them on the host (ModeAuto).
	Mode Mode
	// Network is the pod network in namespaces mode (DefaultNetwork()).
	Network *Network
	// Host are the pods' addresses in host mode (DefaultHostAddresses()).
	Host *HostAddresses
	Log  *slog.Logger
}

// Mesh is a running local mesh.
type Mesh struct {
	opts     Options
	mode     Mode
	log      *slog.Logger
	net      *Network
	host     *HostAddresses
	sup      *Supervisor
	reg      *memory.Registry
	ctrl     *control.Server
	stores   []*file.Store
	man      *Manifests
	xdsAddr  string
	monAddr  string
	services []*svcRun
	pods     []*podRun
	ingress  *podRun
	state    *State

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

// svcRun is a Service with its ClusterIP.
type svcRun struct {
	svc  Service
	ip   netip.Addr
	mesh *mesh.Service
}

// Up starts a local mesh and returns once every pod is ready (or ctx ends). Down stops it.
func Up(ctx context.Context, opts Options) (*Mesh, error) {
	m, err := newMesh(opts)
	if err != nil {
		return nil, err
	}
	if err := m.start(ctx); err != nil {
		m.Down()
		return nil, err
	}
	return m, nil
}

func newMesh(opts Options) (*Mesh, error) {
	if opts.Namespace == "" {
		opts.Namespace = "default"
	}
	if opts.IngressPort == 0 {
		opts.IngressPort = 8080
	}
	if opts.IngressAdminPort == 0 {
		opts.IngressAdminPort = 15100
	}
	if opts.IngressHealthPort == 0 {
		opts.IngressHealthPort = 15121
	}
	if opts.MonitoringAddress == "" {
		opts.MonitoringAddress = "127.0.0.1:15014"
	}
	if opts.Network == nil {
		opts.Network = DefaultNetwork()
	}
	if opts.Host == nil {
		opts.Host = DefaultHostAddresses()
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Self == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		opts.Self = self
	}
	man, err := Load(opts.Paths, opts.Namespace)
	if err != nil {
		return nil, err
	}
	m := &Mesh{opts: opts, log: opts.Log, net: opts.Network, host: opts.Host, man: man, reg: memory.New("Kubernetes"),
		sup: &Supervisor{Self: opts.Self, LogDir: filepath.Join(opts.StateDir, "logs")}}
	return m, nil
}

// start brings up, in order: the state record, the network, the control plane, the
// services, the pods and the ingress gateway.
func (m *Mesh) start(ctx context.Context) error {
	var err error
	if m.mode, err = resolveMode(m.opts.Mode); err != nil {
		return err
	}
	m.state = &State{Dir: m.opts.StateDir, Mode: m.mode, PID: os.Getpid()}
	if !m.hostMode() {
		m.state.Bridge, m.state.Prefix = m.net.Bridge, m.net.Prefix
	}
	if err := m.state.Save(); err != nil {
		return err
	}
	if !m.hostMode() {
		if err := m.installSelf(); err != nil {
			return err
		}
		if err := m.net.Up(ctx); err != nil {
			return err
		}
	}
	if err := m.startControl(ctx); err != nil {
		return err
	}
	if err := m.addServices(); err != nil {
		return err
	}
	if err := m.startPods(ctx); err != nil {
		return err
	}
	if err := m.startIngress(ctx); err != nil {
		return err
	}
	return m.waitReady(ctx)
}

// installSelf copies the weft binary into the state directory, where the sidecars'
// uid 1337 can run it: `go run` builds it in a directory only its user may enter.
func (m *Mesh) installSelf() error {
	dir := filepath.Join(m.opts.StateDir, "bin")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range []string{m.opts.StateDir, dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			return err
		}
	}
	src, err := os.Open(m.opts.Self)
	if err != nil {
		return err
	}
	defer src.Close()
	dst := filepath.Join(dir, "weft")
	f, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	m.opts.Self, m.sup.Self = dst, dst
	return nil
}

// startControl runs the control plane in-process: the input directories and the
// applied-config directory as config stores, their ServiceEntries and the running pods
// as registries. The pods reach it on the bridge's address.
func (m *Mesh) startControl(ctx context.Context) error {
	dirs, err := m.configDirs()
	if err != nil {
		return err
	}
	var stores []config.Store
	var regs []registry.Registry
	for _, d := range dirs {
		st := file.New(d, file.WithDefaultNamespace(m.opts.Namespace), file.WithLogger(m.log))
		m.stores = append(m.stores, st)
		stores = append(stores, st)
		regs = append(regs, serviceentry.New(st, serviceentry.WithLogger(m.log)))
	}
	regs = append(regs, m.reg)
	ctrl, err := control.New(control.Options{Stores: stores, Registries: regs, Mesh: mesh.DefaultMeshConfig(), Log: m.log, ID: "weft-up"})
	if err != nil {
		return err
	}
	m.ctrl = ctrl
	// The pods reach the control plane on the bridge's address; in host mode on
	// loopback, on a port of the kernel's choosing.
	xdsAddr := net.JoinHostPort(m.net.Gateway().String(), "15010")
	if m.hostMode() {
		xdsAddr = "127.0.0.1:0"
	}
	xl, err := net.Listen("tcp", xdsAddr)
	if err != nil {
		return fmt.Errorf("control plane: %w", err)
	}
	ml, err := net.Listen("tcp", m.opts.MonitoringAddress)
	if err != nil {
		xl.Close()
		return fmt.Errorf("control plane monitoring: %w", err)
	}
	m.xdsAddr, m.monAddr = xl.Addr().String(), ml.Addr().String()
	return m.serveControl(ctx, xl, ml)
}

// serveControl starts the control plane and waits until it serves.
func (m *Mesh) serveControl(ctx context.Context, xl, ml net.Listener) error {
	cctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan error, 1)
	ready := make(chan struct{})
	go func() { m.done <- m.ctrl.Serve(cctx, xl, ml, func() { close(ready) }) }()
	select {
	case <-ready:
		return nil
	case err := <-m.done:
		return fmt.Errorf("control plane: %w", err)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// configDirs returns the directories of Istio config: the directory `weft apply`
// writes to, the input directories as they are (watched), and a copy of the input
// files. The first store holding an object wins, so an applied object replaces the one
// the mesh started with, as kubectl apply does.
func (m *Mesh) configDirs() ([]string, error) {
	var dirs []string
	copied := filepath.Join(m.opts.StateDir, "inputs")
	applied := filepath.Join(m.opts.StateDir, "applied")
	for _, d := range []string{copied, applied} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	for _, p := range m.opts.Paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		if fi.IsDir() {
			abs, _ := filepath.Abs(p)
			dirs = append(dirs, abs)
			continue
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(copied, filepath.Base(p)), data, 0o644); err != nil {
			return nil, err
		}
	}
	return append(append([]string{applied}, dirs...), copied), nil
}

// addServices gives each Service a ClusterIP and registers it, with the ingress
// gateway's Service (80 to the ingress port).
func (m *Mesh) addServices() error {
	m.man.Services = append(m.man.Services, ingressService(m.opts.IngressPort))
	for _, s := range m.man.Services {
		ip, err := m.net.AllocateService()
		if err != nil {
			return err
		}
		if s.Spec.ClusterIP != "" && s.Spec.ClusterIP != "None" {
			if a, err := netip.ParseAddr(s.Spec.ClusterIP); err == nil {
				ip = a
			}
		}
		sr := &svcRun{svc: s, ip: ip, mesh: meshService(s, ip, "cluster.local")}
		m.services = append(m.services, sr)
		m.reg.SetService(sr.mesh)
	}
	return nil
}

// ingressService is the Service Istio installs for its ingress gateway.
func ingressService(port int) Service {
	var s Service
	s.Kind, s.APIVersion = "Service", "v1"
	s.Metadata = Metadata{Name: "istio-ingressgateway", Namespace: "istio-system", Labels: map[string]string{"istio": "ingressgateway"}}
	s.Spec.Selector = map[string]string{"istio": "ingressgateway"}
	s.Spec.Ports = []ServicePort{{Name: "http2", Port: 80, TargetPort: float64(port)}, {Name: "http-alt", Port: 8080, TargetPort: float64(port)}}
	return s
}

// hostsMap returns the services' ClusterIPs by "name.namespace".
func (m *Mesh) hostsMap() map[string]netip.Addr {
	out := map[string]netip.Addr{}
	for _, s := range m.services {
		out[s.svc.Metadata.Name+"."+s.svc.Metadata.Namespace] = s.ip
	}
	return out
}

// waitReady waits until every pod is ready.
func (m *Mesh) waitReady(ctx context.Context) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		var waiting []string
		for _, p := range m.pods {
			if !p.ready.Load() {
				waiting = append(waiting, p.name)
			}
		}
		if len(waiting) == 0 {
			return nil
		}
		if err := m.exitedError(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			sort.Strings(waiting)
			return fmt.Errorf("pods not ready after 2 minutes: %v (logs in %s)", waiting, m.sup.LogDir)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// exitedError reports a process that died while the mesh starts.
func (m *Mesh) exitedError() error {
	for name, err := range m.sup.Exited() {
		return fmt.Errorf("%s exited: %v (log: %s)", name, err, filepath.Join(m.sup.LogDir, safeName(name)+".log"))
	}
	return nil
}

// Down stops everything and removes every namespace, link, rule and file the mesh made.
func (m *Mesh) Down() {
	m.sup.Stop(5 * time.Second)
	for _, p := range m.pods {
		p.stop()
	}
	if m.cancel != nil {
		m.cancel()
		<-m.done
	}
	if !m.hostMode() {
		ctx := context.Background()
		for _, p := range m.pods {
			m.net.DeletePod(ctx, p.netns)
		}
		m.net.Down(ctx)
	}
	if m.state != nil {
		m.state.Remove()
	}
}

// Mode is how the mesh runs its pods.
func (m *Mesh) Mode() Mode { return m.mode }

// Wait blocks until ctx ends or the control plane fails.
func (m *Mesh) Wait(ctx context.Context) error {
	select {
	case <-ctx.Done():
		return nil
	case err := <-m.done:
		m.done <- err
		return err
	}
}
