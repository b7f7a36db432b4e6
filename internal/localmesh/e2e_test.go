package localmesh

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/testbin"
)

// The end-to-end tests run the weft binary the way a user does: weft up on the bookinfo
// example, on a network of their own (bridge, namespace prefix, address ranges, host
// ports), so that they do not meet a mesh the user runs. Every scenario runs in both
// modes: namespaces (root, iptables capture) and host (no privileges: run as nobody
// when the tests run as root).

// testMesh is a weft up process and what the test knows about it.
type testMesh struct {
	t        *testing.T
	mode     Mode
	weft     string
	cmd      *exec.Cmd
	done     chan struct{} // closed when weft up has exited
	waitErr  error
	out      *syncBuffer
	stateDir string
	config   string // the watched copy of examples/bookinfo
	ingress  string
	prefix   string
	bridge   string
	ips      map[string]string // pod name to address, from weft up's table
}

// e2eNetwork is the tests' pod network: apart from the default one.
const (
	e2eBridge = "wefte2e0"
	e2ePrefix = "wefte2e-"
)

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startMesh runs weft up on a copy of examples/bookinfo and waits until it is up.
func startMesh(t *testing.T, mode Mode) *testMesh {
	t.Helper()
	if mode == ModeNamespaces {
		requireRoot(t)
	}
	m := &testMesh{t: t, mode: mode, weft: testbin.Weft(t), out: &syncBuffer{}, prefix: e2ePrefix, bridge: e2eBridge}
	// Readable and writable by the unprivileged user host mode runs as.
	base, err := os.MkdirTemp("", "weft-e2e-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	if err := os.Chmod(base, 0o777); err != nil {
		t.Fatal(err)
	}
	m.stateDir, m.config = filepath.Join(base, "state"), filepath.Join(base, "bookinfo")
	copyDir(t, "../../examples/bookinfo", m.config)
	ingress := freePort(t)
	m.ingress = fmt.Sprintf("http://127.0.0.1:%d", ingress)
	args := []string{"up", "-f", m.config, "--state-dir", m.stateDir, "--mode", string(mode),
		"--ingress-port", strconv.Itoa(ingress), "--ingress-admin-port", strconv.Itoa(freePort(t)),
		"--ingress-health-port", strconv.Itoa(freePort(t)), "--monitoring-address", fmt.Sprintf("127.0.0.1:%d", freePort(t))}
	argv := append([]string{m.weft}, args...)
	switch mode {
	case ModeNamespaces:
		argv = append(argv, "--bridge", e2eBridge, "--netns-prefix", e2ePrefix, "--pod-cidr", "10.245.0.0/16", "--service-cidr", "10.97.0.0/16")
	case ModeHost:
		argv = append(argv, "--host-pod-cidr", "127.31.0.0/16", "--host-app-cidr", "127.32.0.0/16")
		if os.Geteuid() == 0 {
			argv = append([]string{"setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", "--"}, argv...)
		}
	}
	m.cmd = exec.Command(argv[0], argv[1:]...)
	m.cmd.Stdout, m.cmd.Stderr = m.out, m.out
	if err := m.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.done = make(chan struct{})
	go func() { m.waitErr = m.cmd.Wait(); close(m.done) }()
	t.Cleanup(func() {
		if !m.exited() {
			m.cmd.Process.Signal(os.Interrupt)
			select {
			case <-m.done:
			case <-time.After(30 * time.Second):
				m.cmd.Process.Kill()
				<-m.done
			}
		}
		exec.Command(m.weft, "down", "--state-dir", m.stateDir).Run()
		if t.Failed() {
			t.Logf("weft up output:\n%s", m.out.String())
		}
	})
	deadline := time.Now().Add(90 * time.Second)
	for !strings.Contains(m.out.String(), "The mesh is up") {
		if time.Now().After(deadline) {
			t.Fatalf("weft up did not come up in 90s:\n%s", m.out.String())
		}
		if m.exited() {
			t.Fatalf("weft up exited (%v):\n%s", m.waitErr, m.out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	m.ips = podTable(m.out.String())
	return m
}

// podTable reads pod names and addresses from weft up's table.
func podTable(out string) map[string]string {
	ips := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && net.ParseIP(f[2]) != nil {
			ips[f[0]] = f[2]
		}
	}
	return ips
}

func (m *testMesh) exited() bool {
	select {
	case <-m.done:
		return true
	default:
		return false
	}
}

// stop interrupts weft up, as Ctrl-C does, and waits for it to exit.
func (m *testMesh) stop() {
	m.t.Helper()
	if err := m.cmd.Process.Signal(os.Interrupt); err != nil {
		m.t.Fatal(err)
	}
	select {
	case <-m.done:
		if m.waitErr != nil {
			m.t.Errorf("weft up exited with %v", m.waitErr)
		}
	case <-time.After(30 * time.Second):
		m.t.Fatal("weft up did not stop within 30s of Ctrl-C")
	}
}

// netns is the network namespace of a pod of namespace default.
func (m *testMesh) netns(pod string) string { return m.prefix + "default-" + pod }

// inPod runs weft with args as an app of the pod: inside its network namespace, as root
// (not the sidecar's uid, so its traffic is captured), or in host mode with its
// sidecar as HTTP_PROXY.
func (m *testMesh) inPod(pod string, args ...string) (string, error) {
	if m.mode == ModeHost {
		cmd := exec.Command(m.weft, args...)
		cmd.Env = append(os.Environ(), "HTTP_PROXY=http://"+m.ips[pod]+":15001")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := exec.Command("ip", append([]string{"netns", "exec", m.netns(pod), m.weft}, args...)...).CombinedOutput()
	return string(out), err
}

// admin fetches a path of a pod's sidecar admin API.
func (m *testMesh) admin(pod, path string) string {
	m.t.Helper()
	var out string
	var err error
	if m.mode == ModeHost {
		out, err = runWeft(m.weft, "demo", "curl", "-f", "http://"+m.ips[pod]+":15000"+path)
	} else {
		out, err = m.inPod(pod, "demo", "curl", "-f", "http://127.0.0.1:15000"+path)
	}
	if err != nil {
		m.t.Fatalf("admin %s%s: %v: %s", pod, path, err, out)
	}
	return out
}

func runWeft(weft string, args ...string) (string, error) {
	out, err := exec.Command(weft, args...).CombinedOutput()
	return string(out), err
}

// counter reads one counter of a pod's sidecar.
func (m *testMesh) counter(pod, name string) int {
	m.t.Helper()
	out := m.admin(pod, "/stats?filter="+url.QueryEscape("^"+regexp.QuoteMeta(name)+"$"))
	for _, line := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(line, ": "); ok && k == name {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				m.t.Fatalf("stat %s: %q", name, line)
			}
			return n
		}
	}
	return 0
}

// apply runs weft apply -f on a bookinfo networking sample.
func (m *testMesh) apply(sample string) {
	m.t.Helper()
	out, err := exec.Command(m.weft, "apply", "--state-dir", m.stateDir, "-f", filepath.Join("../../examples/bookinfo-networking", sample)).CombinedOutput()
	if err != nil {
		m.t.Fatalf("weft apply %s: %v: %s", sample, err, out)
	}
}

// waitRoutes waits until productpage's sidecar has route config containing want.
func (m *testMesh) waitRoutes(want string) {
	m.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(m.admin("productpage-v1-0", "/config_dump?resource=dynamic_route_configs"), want) {
		if time.Now().After(deadline) {
			m.t.Fatalf("productpage's sidecar never got routes containing %q", want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

var servedBy = regexp.MustCompile(`Reviews served by: (reviews-v[0-9])`)

// pages loads the product page n times through the ingress gateway and counts the
// reviews versions that answered.
func (m *testMesh) pages(client *http.Client, n int) map[string]int {
	m.t.Helper()
	out := map[string]int{}
	for i := 0; i < n; i++ {
		resp, err := client.Get(m.ingress + "/productpage")
		if err != nil {
			m.t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			m.t.Fatalf("productpage: %d %v", resp.StatusCode, err)
		}
		v := servedBy.FindSubmatch(body)
		if v == nil {
			m.t.Fatalf("productpage names no reviews pod:\n%s", body)
		}
		out[string(v[1])]++
	}
	return out
}

// within asserts that k of n draws is a plausible outcome of probability p: within 4.5
// standard deviations (a false failure about once in 150,000 runs).
func within(t *testing.T, what string, k, n int, p float64) {
	t.Helper()
	mean := float64(n) * p
	sd := math.Sqrt(float64(n) * p * (1 - p))
	if d := float64(k) - mean; d > 4.5*sd || d < -4.5*sd {
		t.Errorf("%s: %d of %d, want about %.0f (p=%.2f, sd %.1f)", what, k, n, mean, p, sd)
	}
}

// TestBookinfo runs bookinfo under weft up and walks seed 002: the request path through
// both sidecars, then the traffic-shifting scenarios, each measured over enough requests.
func TestBookinfo(t *testing.T) {
	for _, mode := range []Mode{ModeNamespaces, ModeHost} {
		t.Run(string(mode), func(t *testing.T) { testBookinfo(t, mode) })
	}
}

func testBookinfo(t *testing.T, mode Mode) {
	m := startMesh(t, mode)
	client := &http.Client{Timeout: 10 * time.Second}

	t.Run("request path", func(t *testing.T) {
		m.t = t
		// 0.0.0.0_9080 binds no port: connections reach it only through the capture
		// to 15001 and the original-destination hand-off. In host mode the app
		// sends its request to the sidecar's HTTP proxy.
		outListener := "listener.0.0.0.0_9080.downstream_cx_total"
		inListener := func(pod string) string { return "listener.0.0.0.0_15006.downstream_cx_total" }
		if mode == ModeHost {
			outListener = "listener." + m.ips["productpage-v1-0"] + "_15001.downstream_cx_total"
			inListener = func(pod string) string { return "listener." + m.ips[pod] + "_9080.downstream_cx_total" }
		}
		outBefore := m.counter("productpage-v1-0", outListener)
		inBefore := 0
		for _, v := range []string{"v1", "v2", "v3"} {
			inBefore += m.counter("reviews-"+v+"-0", inListener("reviews-"+v+"-0"))
		}
		out, err := m.inPod("productpage-v1-0", "demo", "curl", "-i", "-f", "http://reviews:9080/reviews/0")
		if err != nil {
			t.Fatalf("curl from productpage's pod: %v\n%s", err, out)
		}
		// The outbound sidecar's router adds x-envoy-upstream-service-time; the body
		// is the reviews app's, naming its pod.
		if !strings.Contains(strings.ToLower(out), "x-envoy-upstream-service-time:") || !strings.Contains(out, `"podname":"reviews-v`) {
			t.Errorf("response did not come through the sidecars from the app:\n%s", out)
		}
		if got := m.counter("productpage-v1-0", outListener) - outBefore; got != 1 {
			t.Errorf("productpage's sidecar took %d outbound connections (%s), want the app's one", got, outListener)
		}
		inAfter := 0
		for _, v := range []string{"v1", "v2", "v3"} {
			inAfter += m.counter("reviews-"+v+"-0", inListener("reviews-"+v+"-0"))
		}
		if inAfter-inBefore < 1 {
			t.Errorf("no reviews sidecar accepted the connection")
		}
	})

	t.Run("default round robin", func(t *testing.T) {
		m.t = t
		got := m.pages(client, 150)
		for _, v := range []string{"reviews-v1", "reviews-v2", "reviews-v3"} {
			within(t, v, got[v], 150, 1.0/3)
		}
	})

	t.Run("all v1", func(t *testing.T) {
		m.t = t
		m.apply("virtual-service-all-v1.yaml")
		m.waitRoutes("outbound|9080|v1|reviews.default.svc.cluster.local")
		if got := m.pages(client, 100); got["reviews-v1"] != 100 {
			t.Errorf("all-v1: %v, want all 100 from reviews-v1", got)
		}
	})

	t.Run("90/10", func(t *testing.T) {
		m.t = t
		m.apply("virtual-service-reviews-90-10.yaml")
		m.waitRoutes("outbound|9080|v2|reviews.default.svc.cluster.local")
		got := m.pages(client, 500)
		if got["reviews-v1"]+got["reviews-v2"] != 500 {
			t.Errorf("90/10: %v, want only v1 and v2", got)
		}
		within(t, "90/10: reviews-v2", got["reviews-v2"], 500, 0.10)
	})

	t.Run("jason to v2", func(t *testing.T) {
		m.t = t
		m.apply("virtual-service-reviews-test-v2.yaml")
		m.waitRoutes("jason")
		jar, _ := cookiejar.New(nil)
		jason := &http.Client{Timeout: 10 * time.Second, Jar: jar}
		resp, err := jason.PostForm(m.ingress+"/login", url.Values{"username": {"jason"}, "passwd": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := m.pages(jason, 50); got["reviews-v2"] != 50 {
			t.Errorf("jason: %v, want all 50 from reviews-v2", got)
		}
		if got := m.pages(client, 50); got["reviews-v1"] != 50 {
			t.Errorf("anonymous: %v, want all 50 from reviews-v1", got)
		}
	})

	t.Run("URI prefix", func(t *testing.T) {
		m.t = t
		// The seed's own VirtualService, written into the watched directory as a user
		// editing their files does.
		vs := `apiVersion: networking.istio.io/v1beta1
kind: VirtualService
metadata:
  name: reviews-by-uri
spec:
  hosts:
  - reviews
  http:
  - match:
    - uri:
        prefix: /api/v2
    route:
    - destination:
        host: reviews
        subset: v2
  - route:
    - destination:
        host: reviews
        subset: v1
`
		// The applied reviews VirtualService wins over one in the files: remove it.
		if out, err := exec.Command(m.weft, "delete", "--state-dir", m.stateDir, "-f", "../../examples/bookinfo-networking/virtual-service-reviews-test-v2.yaml").CombinedOutput(); err != nil {
			t.Fatalf("weft delete: %v: %s", err, out)
		}
		if err := os.WriteFile(filepath.Join(m.config, "reviews-by-uri.yaml"), []byte(vs), 0o644); err != nil {
			t.Fatal(err)
		}
		m.waitRoutes("/api/v2")
		v1 := "cluster.outbound|9080|v1|reviews.default.svc.cluster.local.upstream_rq_total"
		v2 := "cluster.outbound|9080|v2|reviews.default.svc.cluster.local.upstream_rq_total"
		b1, b2 := m.counter("productpage-v1-0", v1), m.counter("productpage-v1-0", v2)
		for i := 0; i < 10; i++ {
			m.inPod("productpage-v1-0", "demo", "curl", "-s", "-o", "/dev/null", "http://reviews:9080/api/v2/reviews/0")
			m.inPod("productpage-v1-0", "demo", "curl", "-s", "-o", "/dev/null", "http://reviews:9080/reviews/0")
		}
		if d1, d2 := m.counter("productpage-v1-0", v1)-b1, m.counter("productpage-v1-0", v2)-b2; d1 != 10 || d2 != 10 {
			t.Errorf("requests to v1 %d, to v2 %d; want 10 each (/api/v2 to v2, the rest to v1)", d1, d2)
		}
		if got := m.pages(client, 50); got["reviews-v1"] != 50 {
			t.Errorf("product page: %v, want all 50 from reviews-v1 (its path is /reviews/0)", got)
		}
	})

	t.Run("teardown", func(t *testing.T) {
		m.t = t
		m.stop()
		assertClean(t, m)
	})
}

// TestDownAfterKill: a mesh killed outright leaves its namespaces and bridge (or, in
// host mode, its state); weft down removes them.
func TestDownAfterKill(t *testing.T) {
	for _, mode := range []Mode{ModeNamespaces, ModeHost} {
		t.Run(string(mode), func(t *testing.T) {
			m := startMesh(t, mode)
			m.cmd.Process.Kill()
			<-m.done
			left := runOut(t, "ip", "netns", "list")
			if mode == ModeHost {
				left = runOut(t, "ls", m.stateDir)
			}
			if !strings.Contains(left, m.prefix) && !strings.Contains(left, "state.json") {
				t.Fatal("the killed mesh left nothing: the test cannot tell whether weft down works")
			}
			out, err := exec.Command(m.weft, "down", "--state-dir", m.stateDir).CombinedOutput()
			if err != nil {
				t.Fatalf("weft down: %v: %s", err, out)
			}
			assertClean(t, m)
		})
	}
}

// assertClean checks that nothing of the mesh is left: namespaces, links, rules, files,
// processes.
func assertClean(t *testing.T, m *testMesh) {
	t.Helper()
	if out := runOut(t, "ip", "netns", "list"); strings.Contains(out, m.prefix) {
		t.Errorf("namespaces left:\n%s", out)
	}
	if out := runOut(t, "ip", "-o", "link", "show"); strings.Contains(out, m.bridge) {
		t.Errorf("links left:\n%s", out)
	}
	if out := runOut(t, "iptables-save"); strings.Contains(out, m.bridge) {
		t.Errorf("host rules left:\n%s", out)
	}
	if matches, _ := filepath.Glob("/etc/netns/" + m.prefix + "*"); len(matches) > 0 {
		t.Errorf("files left: %v", matches)
	}
	if _, err := os.Stat(m.stateDir); err == nil {
		t.Errorf("state directory %s left", m.stateDir)
	}
	// Every process of the mesh runs the test's own weft binary; host-mode ones end
	// on their parent's death signal, a moment after it.
	deadline := time.Now().Add(5 * time.Second)
	for {
		// The binary, or its copy in the state directory (namespaces mode).
		out, _ := exec.Command("pgrep", "-a", "-f", m.weft+"|"+m.stateDir).Output()
		if len(bytes.TrimSpace(out)) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left: %s", out)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runOut(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, out)
	}
	return string(out)
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, e.Name()), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a process's output and the test's reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
