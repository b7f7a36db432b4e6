//go:build unix

package control_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/control"
	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	configmem "github.com/weftmesh/weft/internal/control/config/memory"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	regmem "github.com/weftmesh/weft/internal/control/registry/memory"

	// What cmd/weft links: the proxy's packages declare the Envoy fields they implement,
	// and xdsgen checks every generated resource against them, as in production.
	_ "github.com/weftmesh/weft/internal/proxy"
)

// BenchmarkScale is issue 4's scale test of the control plane: the real pipeline
// (memory config store and registry → snapshot → xdsgen → ADS, 100 ms debounce) with N
// state-of-the-world ADS clients over loopback gRPC, for S services, with and without
// a Sidecar in each namespace.
//
// The clients run in a process of their own (TestScaleClients, this test binary run
// again), each with its own gRPC connection as every Envoy has. So runtime.ReadMemStats
// here counts the control plane alone: its sources, snapshot, per-connection state and
// gRPC server transports, with nothing of the clients to subtract or estimate, and the
// clients' decoding adds nothing to its garbage collection. The CPU is shared: the
// clients decode CDS and LDS on the same cores.
//
// Each iteration makes two pushes and waits for each to settle: a VirtualService
// changes (a full push: every type regenerated for every node), then one endpoint
// changes (EDS only). Metrics, per push unless said:
//
//	ms/vs-push, ms/eds-push  from the change to the last client's ACK (debounce included)
//	ms/vs-done, ms/eds-done  from the change until the server has finished with every
//	                         connection, including those with nothing to send (±2%)
//	cpu-ms/vs-push, ...      the control plane's CPU time (user+system)
//	KB/vs-push, ...          bytes the clients receive (proto.Size of the responses)
//	resp/vs-push, ...        responses the clients receive
//	s-connect                from starting the clients until all hold their full config
//	MB-initial               bytes of that initial config, all clients together
//	MB-heap                  the control plane's live heap with every client connected,
//	                         less the process's before it started (sources included)
//	KB-heap/client           live heap per connected client
//	MB-stack                 goroutine stacks with every client connected
//	MB-peak-rss              the process's peak resident set, from before the control
//	                         plane starts to the end (Linux; garbage of generation
//	                         included, which is what a pod's memory limit must allow)
//
// Run it with -bench; -short leaves out the combinations above 100 000 client-services.
// WEFT_SCALE_HEAP_PROFILE=FILE writes the heap profile with every client connected.
func BenchmarkScale(b *testing.B) {
	for _, n := range []int{100, 500, 2000} {
		for _, s := range []int{100, 1000} {
			for _, scoped := range []bool{false, true} {
				scope := "none"
				if scoped {
					scope = "sidecar"
				}
				b.Run(fmt.Sprintf("clients=%d/services=%d/scope=%s", n, s, scope), func(b *testing.B) {
					if testing.Short() && n*s > 100_000 {
						b.Skip("large: not with -short")
					}
					scaleBench(b, n, s, scoped)
				})
			}
		}
	}
}

// The benchmark's mesh: services spread round-robin over scaleNamespaces namespaces, one
// HTTP port each.
const (
	scaleNamespaces = 10
	scalePort       = 8080
	scaleSettle     = 20 * time.Minute // the longest a push or the initial sync may take
)

func scaleNamespace(i int) string { return "ns-" + strconv.Itoa(i%scaleNamespaces) }

// scaleHost is service j's hostname.
func scaleHost(j int) string {
	return "svc-" + strconv.Itoa(j) + "." + scaleNamespace(j) + ".svc.cluster.local"
}

// scaleIP numbers addresses under a /16: 10.96.0.1, ..., 10.96.0.250, 10.96.1.1, ...
func scaleIP(prefix string, i int) string {
	return prefix + "." + strconv.Itoa(i/250) + "." + strconv.Itoa(i%250+1)
}

// scaleWorld is a benchmark's mesh: its config store and registry.
type scaleWorld struct {
	store *configmem.Store
	reg   *regmem.Registry
}

// newScaleWorld builds S services, each with a ClusterIP, port 8080 (HTTP) and two
// endpoints labelled version v1 and v2; istiod in istio-system; in every namespace a
// DestinationRule with subsets v1 and v2 and a VirtualService (a header match to v2,
// the rest to v1 with a timeout) for its first service; and, when scoped, a Sidecar in
// every namespace whose egress admits ./* and istio-system/*.
func newScaleWorld(b *testing.B, services int, scoped bool) *scaleWorld {
	w := &scaleWorld{store: configmem.New(), reg: regmem.New("scale")}
	for j := range services {
		ns := scaleNamespace(j)
		w.reg.SetService(&mesh.Service{Hostname: scaleHost(j), Namespace: ns, Addresses: []string{scaleIP("10.96", j)},
			Ports:    []mesh.Port{{Name: "http", Number: scalePort, Protocol: mesh.HTTP}},
			Selector: map[string]string{"app": "svc-" + strconv.Itoa(j)}, CreationTime: time.Unix(1, 0)})
		w.reg.SetEndpoints(scaleHost(j), scalePort, scaleEndpoints(j, scaleIP("10.3", j)))
	}
	istiod := &mesh.Service{Hostname: "istiod.istio-system.svc.cluster.local", Namespace: "istio-system",
		Addresses: []string{"10.95.0.1"}, Selector: map[string]string{"app": "istiod"}, CreationTime: time.Unix(1, 0),
		Ports: []mesh.Port{{Name: "grpc-xds", Number: 15010, Protocol: mesh.GRPC},
			{Name: "http-monitoring", Number: 15014, Protocol: mesh.HTTP}}}
	w.reg.SetService(istiod)
	for _, p := range istiod.Ports {
		w.reg.SetEndpoints(istiod.Hostname, p.Number, []*mesh.Endpoint{{Address: "10.95.1.1", Port: p.Number,
			ServicePort: p.Number, Healthy: true, Namespace: "istio-system", TLSMode: mesh.TLSModeIstio,
			Labels: map[string]string{"app": "istiod"}}})
	}
	for k := range min(scaleNamespaces, services) {
		ns := scaleNamespace(k)
		w.add(b, ns, scaleDestinationRule(k))
		w.add(b, ns, scaleVirtualService(k, 5))
		if scoped {
			w.add(b, ns, "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default}\n"+
				"spec: {egress: [{hosts: [./*, istio-system/*]}]}\n")
		}
	}
	return w
}

// scaleEndpoints are service j's endpoints: v1 at a fixed address, v2 at v2Addr.
func scaleEndpoints(j int, v2Addr string) []*mesh.Endpoint {
	ns, app := scaleNamespace(j), "svc-"+strconv.Itoa(j)
	ep := func(addr, version string) *mesh.Endpoint {
		return &mesh.Endpoint{Address: addr, Port: scalePort, ServicePort: scalePort, Healthy: true,
			Labels: map[string]string{"app": app, "version": version}, Namespace: ns, Workload: app + "-" + version,
			ServiceAccount: mesh.SpiffeID("cluster.local", ns, app), TLSMode: mesh.TLSModeIstio}
	}
	return []*mesh.Endpoint{ep(scaleIP("10.2", j), "v1"), ep(v2Addr, "v2")}
}

func scaleDestinationRule(k int) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: svc-%[1]d}
spec:
  host: svc-%[1]d
  subsets: [{name: v1, labels: {version: v1}}, {name: v2, labels: {version: v2}}]
`, k)
}

// scaleVirtualService routes namespace k's first service; the benchmark changes the
// timeout.
func scaleVirtualService(k, timeoutSeconds int) string {
	return fmt.Sprintf(`apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: svc-%[1]d}
spec:
  hosts: [svc-%[1]d]
  http:
  - match: [{headers: {end-user: {exact: tester}}}]
    route: [{destination: {host: svc-%[1]d, subset: v2}}]
  - route: [{destination: {host: svc-%[1]d, subset: v1}}]
    timeout: %[2]ds
`, k, timeoutSeconds)
}

// add adds (or, when it exists, updates) the objects of a YAML text to the store.
func (w *scaleWorld) add(b *testing.B, ns, yaml string) {
	b.Helper()
	for _, d := range file.ParseFile("scale.yaml", []byte(yaml), ns) {
		if d.Err != nil {
			b.Fatal(d.Err)
		}
		if d.Config == nil {
			continue
		}
		err := w.store.Add(*d.Config)
		if err != nil {
			err = w.store.Update(*d.Config)
		}
		if err != nil {
			b.Fatal(err)
		}
	}
}

// scaleControl is a running control plane over a world.
type scaleControl struct {
	srv  *control.Server
	addr string
	stop func()
}

func startScaleControl(b *testing.B, w *scaleWorld) *scaleControl {
	srv, err := control.New(control.Options{Stores: []config.Store{w.store}, Registries: []registry.Registry{w.reg},
		Mesh: mesh.DefaultMeshConfig(), ID: "scale",
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if err != nil {
		b.Fatal(err)
	}
	xl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ready, done := make(chan struct{}), make(chan error, 1)
	go func() { done <- srv.Serve(ctx, xl, ml, func() { close(ready) }) }()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		b.Fatalf("control plane: %v", err)
	}
	stop := func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("control plane: %v", err)
		}
	}
	return &scaleControl{srv: srv, addr: xl.Addr().String(), stop: stop}
}

// scaleServerStat is what the server's metrics say about its pushes.
type scaleServerStat struct {
	sent      float64  // responses sent (pilot_xds_pushes without the error types)
	converged float64  // connection pushes finished (pilot_proxy_convergence_time count)
	connected float64  // clients connected (pilot_xds)
	errors    []string // generation and send errors: `pilot_xds_pushes{type="eds_senderr"} 1`
}

func (c *scaleControl) stat() scaleServerStat {
	rec := httptest.NewRecorder()
	c.srv.ADS().Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	var s scaleServerStat
	for line := range strings.Lines(rec.Body.String()) {
		name, val, ok := strings.Cut(strings.TrimSpace(line), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, _ := strconv.ParseFloat(val, 64)
		switch {
		case name == "pilot_proxy_convergence_time_count":
			s.converged = v
		case strings.HasPrefix(name, "pilot_xds{"):
			s.connected += v
		case strings.HasPrefix(name, "pilot_xds_pushes{") && strings.HasSuffix(name, `err"}`):
			s.errors = append(s.errors, strings.TrimSpace(line))
		case strings.HasPrefix(name, "pilot_xds_pushes{"):
			s.sent += v
		}
	}
	return s
}

// scaleSettled is the state after a push: what the clients report, and when the poll
// first saw the server done.
type scaleSettled struct {
	clients scaleClientStat
	server  scaleServerStat
	doneAt  time.Time
}

// scaleWait waits until every client holds config of every type, the server has
// finished at least converged connection pushes, and the clients have received (and
// ACKed) every response the server sent, the same on two polls in a row: a client's new
// subscription answered late would otherwise go unnoticed. It returns the state at the
// first of the two polls.
func scaleWait(b *testing.B, c *scaleControl, cl *scaleClients, n int, converged float64) scaleSettled {
	b.Helper()
	start := time.Now()
	var prev *scaleSettled
	for time.Since(start) < scaleSettle {
		srv := c.stat()
		st := cl.stat(b) // fails when a client did
		switch {
		case len(srv.errors) > 0:
			b.Fatalf("the server failed: %s", strings.Join(srv.errors, ", "))
		case st.ready == n && srv.connected < float64(n):
			b.Fatalf("%v of %d clients are connected", srv.connected, n)
		case srv.converged >= converged && st.ready == n && float64(st.responses) == srv.sent:
			if prev != nil && prev.clients.responses == st.responses {
				return *prev
			}
			prev = &scaleSettled{clients: st, server: srv, doneAt: time.Now()}
		default:
			prev = nil
		}
		// A poll costs the server a scrape of its metrics: polls thin out as the wait
		// grows, so that they stay a small part of it.
		time.Sleep(min(max(time.Since(start)/50, 5*time.Millisecond), 250*time.Millisecond))
	}
	b.Fatalf("not settled after %s", scaleSettle)
	return scaleSettled{}
}

// scalePush is the totals of one kind of push over the iterations.
type scalePush struct {
	name             string
	count            int
	ack, done, cpu   time.Duration
	bytes, responses int64
}

// measure makes a change and waits until it has settled.
func (p *scalePush) measure(b *testing.B, c *scaleControl, cl *scaleClients, n int, change func()) {
	before := scaleWait(b, c, cl, n, 0)
	cpu := scaleCPU()
	start := time.Now()
	change()
	after := scaleWait(b, c, cl, n, before.server.converged+float64(n))
	p.count++
	p.cpu += scaleCPU() - cpu
	p.done += after.doneAt.Sub(start)
	if last := after.clients.lastAck; last.After(start) {
		p.ack += last.Sub(start)
	}
	p.bytes += after.clients.bytes - before.clients.bytes
	p.responses += after.clients.responses - before.clients.responses
}

func (p *scalePush) report(b *testing.B) {
	if p.count == 0 {
		return
	}
	per := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(p.count) }
	b.ReportMetric(per(p.ack), "ms/"+p.name+"-push")
	b.ReportMetric(per(p.done), "ms/"+p.name+"-done")
	b.ReportMetric(per(p.cpu), "cpu-ms/"+p.name+"-push")
	b.ReportMetric(float64(p.bytes)/1e3/float64(p.count), "KB/"+p.name+"-push")
	b.ReportMetric(float64(p.responses)/float64(p.count), "resp/"+p.name+"-push")
}

// scaleCPU is the process's CPU time so far, user and system.
func scaleCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// scaleResetPeak returns memory the process no longer uses to the system and resets its
// peak resident set size (Linux's VmHWM), reporting whether it could.
func scaleResetPeak() bool {
	debug.FreeOSMemory()
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// scalePeakRSS returns the process's peak resident set size in bytes since
// scaleResetPeak, or 0 where the system does not say.
func scalePeakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb * 1024
		}
	}
	return 0
}

// scaleHeapProfile writes the heap profile with every client connected to the file
// WEFT_SCALE_HEAP_PROFILE names, if it is set: -memprofile is written when the
// benchmark has ended and the clients are gone.
func scaleHeapProfile(b *testing.B) {
	path := os.Getenv("WEFT_SCALE_HEAP_PROFILE")
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		b.Fatal(err)
	}
}

// scaleHeap returns the live heap and the stacks in use, after a collection.
func scaleHeap() (heap, stack uint64) {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC()
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

func scaleBench(b *testing.B, n, services int, scoped bool) {
	peak := scaleResetPeak()
	base, baseStack := scaleHeap()
	w := newScaleWorld(b, services, scoped)
	c := startScaleControl(b, w)
	defer c.stop()
	idle, _ := scaleHeap()

	start := time.Now()
	cl := startScaleClients(b, c.addr, n, services)
	defer cl.close(b)
	initial := scaleWait(b, c, cl, n, 0)
	heap, stack := scaleHeap()
	scaleHeapProfile(b)

	vs, eds := &scalePush{name: "vs"}, &scalePush{name: "eds"}
	i := 0
	for b.Loop() {
		i++
		vs.measure(b, c, cl, n, func() { w.add(b, scaleNamespace(0), scaleVirtualService(0, 10+i)) })
		eds.measure(b, c, cl, n, func() {
			w.reg.SetEndpoints(scaleHost(0), scalePort, scaleEndpoints(0, scaleIP("10.4", i)))
		})
	}
	// Reported after the loop: its start clears what was reported before.
	b.ReportMetric(initial.clients.lastAck.Sub(start).Seconds(), "s-connect")
	b.ReportMetric(float64(initial.clients.bytes)/1e6, "MB-initial")
	b.ReportMetric((float64(heap)-float64(base))/1e6, "MB-heap")
	b.ReportMetric((float64(heap)-float64(idle))/1e3/float64(n), "KB-heap/client")
	b.ReportMetric((float64(stack)-float64(baseStack))/1e6, "MB-stack")
	if rss := scalePeakRSS(); peak && rss > 0 {
		b.ReportMetric(rss/1e6, "MB-peak-rss")
	}
	vs.report(b)
	eds.report(b)
}
