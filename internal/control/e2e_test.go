package control_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/testbin"
)

// The end-to-end tests run weft control and a weft proxy as processes on loopback, the
// way a user runs them: Istio YAML in a watched directory, the proxy on ADS. The proxy
// runs without capture (INTERCEPTION_MODE NONE), so the test's client uses it as an
// explicit HTTP proxy and needs no privileges. The backends are the test's own HTTP
// servers, registered with a ServiceEntry and WorkloadEntries.

// e2eProxyIP is the proxy's address: its HTTP proxy on :15001, admin on :15000.
const e2eProxyIP = "127.0.0.50"

type e2eWorld struct {
	t        *testing.T
	weft     string
	dir      string // the watched config directory
	xds, mon string // the control plane's addresses
	control  *e2eProcess
	proxy    *e2eProcess
	client   *http.Client
	backends map[string]*e2eBackend
}

// e2eProcess is a weft process and its output.
type e2eProcess = testbin.Process

func e2eStart(t *testing.T, weft string, args ...string) *e2eProcess {
	t.Helper()
	return testbin.Start(t, weft, nil, args...)
}

// e2eBackend is an HTTP server answering with its name; /slow waits before answering.
type e2eBackend struct {
	name string
	port int
}

func e2eServe(t *testing.T, name string) *e2eBackend {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/slow" {
			time.Sleep(1500 * time.Millisecond)
		}
		io.WriteString(w, name)
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return &e2eBackend{name: name, port: ln.Addr().(*net.TCPAddr).Port}
}

func e2eFreeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// newE2EWorld starts three echo backends (v1, v2, v3), the control plane on a config
// directory registering them as echo.default.svc.cluster.local:8080 with subsets, and
// a proxy.
func newE2EWorld(t *testing.T) *e2eWorld {
	w := &e2eWorld{t: t, weft: testbin.Weft(t), dir: t.TempDir(), xds: e2eFreeAddr(t), mon: e2eFreeAddr(t),
		backends: map[string]*e2eBackend{}}
	var entries strings.Builder
	for _, v := range []string{"v1", "v2", "v3"} {
		b := e2eServe(t, v)
		w.backends[v] = b
		fmt.Fprintf(&entries, `---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: echo-%s, namespace: default}
spec:
  address: 127.0.0.1
  ports: {http: %d}
  labels: {app: echo, version: %s}
`, v, b.port, v)
	}
	w.write("services.yaml", `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  location: MESH_INTERNAL
  ports: [{number: 8080, name: http, protocol: HTTP}]
  resolution: STATIC
  workloadSelector: {labels: {app: echo}}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: echo, namespace: default}
spec:
  host: echo.default.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
`+entries.String())
	w.startControl()
	w.proxy = e2eStart(t, w.weft, "proxy", "--xds", w.xds, "--node-id", "sidecar~"+e2eProxyIP+"~client-0.default~default.svc.cluster.local",
		"--metadata", "INTERCEPTION_MODE=NONE", "--metadata", "NAMESPACE=default", "--label", "app=client",
		"--admin-address", e2eProxyIP+":15000", "--health-address", e2eProxyIP+":15021", "--drain-time-s", "3", "--concurrency", "2")
	proxyURL, _ := url.Parse("http://" + e2eProxyIP + ":15001")
	w.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{Proxy: http.ProxyURL(proxyURL), MaxIdleConnsPerHost: 16}}
	w.eventually("the proxy to serve echo", func() error {
		_, err := w.get("/", nil)
		return err
	})
	return w
}

func (w *e2eWorld) startControl() {
	w.control = e2eStart(w.t, w.weft, "control", "--config-dir", w.dir, "--xds-address", w.xds, "--monitoring-address", w.mon)
}

// write replaces a file of the config directory atomically, as editors do.
func (w *e2eWorld) write(name, yaml string) {
	w.t.Helper()
	tmp := filepath.Join(w.dir, "."+name+".tmp")
	if err := os.WriteFile(tmp, []byte(yaml), 0o644); err != nil {
		w.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(w.dir, name)); err != nil {
		w.t.Fatal(err)
	}
}

// get sends one request for echo through the proxy and returns the backend's name.
func (w *e2eWorld) get(path string, header http.Header) (string, error) {
	req, err := http.NewRequest("GET", "http://echo.default.svc.cluster.local:8080"+path, nil)
	if err != nil {
		return "", err
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := w.client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	return string(body), nil
}

// counts sends n requests and counts the backends that answered.
func (w *e2eWorld) counts(n int, header http.Header) map[string]int {
	w.t.Helper()
	out := map[string]int{}
	for i := 0; i < n; i++ {
		v, err := w.get("/", header)
		if err != nil {
			w.t.Fatal(err)
		}
		out[v]++
	}
	return out
}

// eventually retries f for up to 10 s.
func (w *e2eWorld) eventually(what string, f func() error) {
	w.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			w.t.Fatalf("waiting for %s: %v", what, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// only waits until n requests in a row all reach backend v.
func (w *e2eWorld) only(v string, header http.Header) {
	w.t.Helper()
	w.eventually("all requests to "+v, func() error {
		got := w.counts(20, header)
		if got[v] != 20 {
			return fmt.Errorf("%v", got)
		}
		return nil
	})
}

// stat reads one stat of the proxy.
func (w *e2eWorld) stat(name string) int {
	w.t.Helper()
	resp, err := http.Get("http://" + e2eProxyIP + ":15000/stats?filter=" + url.QueryEscape("^"+name+"$"))
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), ": "); ok && k == name {
			n, _ := strconv.Atoi(v)
			return n
		}
	}
	return 0
}

func e2eWithin(t *testing.T, what string, k, n int, p float64) {
	t.Helper()
	mean, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
	if d := float64(k) - mean; math.Abs(d) > 4.5*sd {
		t.Errorf("%s: %d of %d, want about %.0f (p=%.2f, sd %.1f)", what, k, n, mean, p, sd)
	}
}

func e2eVS(http string) string {
	return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: echo, namespace: default}
spec:
  hosts: [echo.default.svc.cluster.local]
  http:
` + http
}

// TestConfigFollowsFiles: traffic follows each change to the config directory: weights,
// header matches, subsets; a broken file is rejected and traffic keeps its last good
// config; a listener change lets a request in flight finish.
func TestConfigFollowsFiles(t *testing.T) {
	w := newE2EWorld(t)

	t.Run("weights", func(t *testing.T) {
		w.t = t
		w.write("vs.yaml", e2eVS(`  - route:
    - {destination: {host: echo.default.svc.cluster.local, subset: v1}, weight: 80}
    - {destination: {host: echo.default.svc.cluster.local, subset: v2}, weight: 20}
`))
		w.eventually("v3 to leave the mix", func() error {
			if got := w.counts(30, nil); got["v3"] > 0 {
				return fmt.Errorf("%v", got)
			}
			return nil
		})
		got := w.counts(500, nil)
		if got["v1"]+got["v2"] != 500 {
			t.Errorf("80/20: %v, want only v1 and v2", got)
		}
		e2eWithin(t, "80/20: v2", got["v2"], 500, 0.2)
	})

	t.Run("header match", func(t *testing.T) {
		w.t = t
		w.write("vs.yaml", e2eVS(`  - match: [{headers: {x-user: {exact: jason}}}]
    route: [{destination: {host: echo.default.svc.cluster.local, subset: v3}}]
  - route: [{destination: {host: echo.default.svc.cluster.local, subset: v1}}]
`))
		jason := http.Header{"X-User": {"jason"}}
		w.only("v3", jason)
		w.only("v1", nil)
		if got := w.counts(50, http.Header{"X-User": {"alice"}}); got["v1"] != 50 {
			t.Errorf("alice: %v, want all v1", got)
		}
	})

	t.Run("broken file keeps the last good config", func(t *testing.T) {
		w.t = t
		// A VirtualService with an invalid field and a file that is not YAML: both
		// rejected by the store, which names them; the mesh keeps its config.
		w.write("vs.yaml", e2eVS(`  - route: [{destination: {host: echo.default.svc.cluster.local, subset: v2}, weight: -5}]
`))
		w.write("broken.yaml", "kind: VirtualService\n  spec: [")
		w.eventually("the rejection to be logged", func() error {
			if out := w.control.Out.String(); !strings.Contains(out, "vs.yaml") || !strings.Contains(out, "broken.yaml") {
				return fmt.Errorf("no rejection of vs.yaml and broken.yaml in the log")
			}
			return nil
		})
		if got := w.counts(50, nil); got["v1"] != 50 {
			t.Errorf("after a rejected update: %v, want all v1 (the last good config)", got)
		}
		os.Remove(filepath.Join(w.dir, "broken.yaml"))
	})

	t.Run("listener change drains", func(t *testing.T) {
		w.t = t
		w.write("vs.yaml", e2eVS(`  - route: [{destination: {host: echo.default.svc.cluster.local, subset: v2}}]
`))
		w.only("v2", nil)
		updates := w.stat("listener_manager.lds.update_success")
		slow := make(chan error, 1)
		go func() {
			v, err := w.get("/slow", nil)
			if err == nil && v != "v2" {
				err = fmt.Errorf("answered by %s", v)
			}
			slow <- err
		}()
		time.Sleep(300 * time.Millisecond)
		// A fault on another route puts the fault filter in the proxy listener's
		// connection manager: a new listener, and the old one drains.
		w.write("vs.yaml", e2eVS(`  - match: [{uri: {prefix: /faulty}}]
    fault: {abort: {httpStatus: 503, percentage: {value: 100}}}
    route: [{destination: {host: echo.default.svc.cluster.local, subset: v1}}]
  - route: [{destination: {host: echo.default.svc.cluster.local, subset: v2}}]
`))
		w.eventually("the listener update", func() error {
			if w.stat("listener_manager.lds.update_success") == updates {
				return fmt.Errorf("no LDS update")
			}
			return nil
		})
		if err := <-slow; err != nil {
			t.Errorf("request in flight across the listener update: %v", err)
		}
		if _, err := w.get("/faulty", nil); err == nil || !strings.Contains(err.Error(), "503") {
			t.Errorf("/faulty: %v, want the injected 503", err)
		}
	})
}

// TestControlPlaneRestart: the control plane is killed and restarted under traffic; the
// proxy serves on its last config meanwhile (not one request fails), reconnects, and
// follows changes made after the restart.
func TestControlPlaneRestart(t *testing.T) {
	w := newE2EWorld(t)
	w.write("vs.yaml", e2eVS(`  - route: [{destination: {host: echo.default.svc.cluster.local, subset: v1}}]
`))
	w.only("v1", nil)

	ctx, cancel := context.WithCancel(context.Background())
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if _, err := w.get("/", nil); err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				} else {
					ok.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	w.control.Cmd.Process.Kill()
	<-w.control.Done
	w.eventually("the proxy to notice", func() error {
		if w.stat("control_plane.connected_state") != 0 {
			return fmt.Errorf("still connected")
		}
		return nil
	})
	time.Sleep(time.Second) // serving alone
	w.startControl()
	w.eventually("the proxy to reconnect", func() error {
		if w.stat("control_plane.connected_state") != 1 {
			return fmt.Errorf("not connected")
		}
		return nil
	})
	time.Sleep(500 * time.Millisecond)
	cancel()
	wg.Wait()
	if failed.Load() != 0 || ok.Load() < 100 {
		t.Errorf("%d requests failed (first: %v), %d succeeded across the restart; want none failed", failed.Load(), firstErr.Load(), ok.Load())
	}
	w.write("vs.yaml", e2eVS(`  - route: [{destination: {host: echo.default.svc.cluster.local, subset: v3}}]
`))
	w.only("v3", nil)
}

// e2eBuffer is a bytes.Buffer safe for a process's output and the test's reads.
