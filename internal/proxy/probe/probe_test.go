package probe

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestParse(t *testing.T) {
	got, err := Parse([]byte(`{"/app-health/details/livez":{"httpGet":{"path":"/","port":9080,"scheme":"HTTP","httpHeaders":[{"name":"Host","value":"x"}]},"timeoutSeconds":3},
		"/app-health/details/readyz":{"tcpSocket":{"port":9080}},
		"/app-health/grpc/startupz":{"grpc":{"port":9090}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Set{
		"/app-health/details/livez": {HTTPGet: &HTTPGet{Path: "/", Port: 9080, Scheme: "HTTP",
			HTTPHeaders: []Header{{Name: "Host", Value: "x"}}}, TimeoutSeconds: 3},
		"/app-health/details/readyz": {TCPSocket: &TCPSocket{Port: 9080}},
		"/app-health/grpc/startupz":  {GRPC: &GRPC{Port: 9090}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Parse (-want +got):\n%s", d)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`{"/app-health/a/readyz":{"httpGet":{"port":"http"}}}`, "cannot unmarshal string"},
		{`{"/app-health/a/readyz":{"exec":{"command":["true"]}}}`, `unknown field "exec"`},
		{`{"/healthz/a":{"tcpSocket":{"port":1}}}`, "/healthz/a: path must be"},
		{`{"/app-health/a/readyz":{}}`, "exactly one of"},
		{`{"/app-health/a/readyz":{"tcpSocket":{"port":1},"grpc":{"port":2}}}`, "exactly one of"},
		{`{"/app-health/a/readyz":{"tcpSocket":{"port":70000}}}`, "port 70000 out of range"},
		{`{"/app-health/a/readyz":{"httpGet":{"port":80,"scheme":"FTP"}}}`, `scheme "FTP"`},
		{`{"/app-health/a/readyz":null}`, "no probe"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%s) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func port(t *testing.T, addr string) int {
	t.Helper()
	_, p, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(p)
	return n
}

// TestHandler runs each kind of probe against real servers on loopback.
func TestHandler(t *testing.T) {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			if r.Host != "app.example" || r.Header.Get("X-Probe") != "1" || r.UserAgent() != "kube-probe/1.34" {
				http.Error(w, "bad request "+r.Host, http.StatusBadRequest)
			}
		case "/moved":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		case "/sick":
			http.Error(w, "sick", http.StatusInternalServerError)
		case "/slow":
			time.Sleep(1500 * time.Millisecond)
		}
	}))
	defer app.Close()
	tlsApp := httptest.NewTLSServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer tlsApp.Close()
	closed, _ := net.Listen("tcp", "127.0.0.1:0")
	closedPort := port(t, closed.Addr().String())
	closed.Close()

	gl, _ := net.Listen("tcp", "127.0.0.1:0")
	gs := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("down", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(gs, hs)
	go gs.Serve(gl)
	defer gs.Stop()

	appPort, tlsPort, grpcPort := port(t, app.Listener.Addr().String()), port(t, tlsApp.Listener.Addr().String()), port(t, gl.Addr().String())
	down := "down"
	set := Set{
		"/app-health/a/readyz": {HTTPGet: &HTTPGet{Path: "/ok", Port: appPort,
			HTTPHeaders: []Header{{Name: "Host", Value: "app.example"}, {Name: "X-Probe", Value: "1"}}}},
		"/app-health/a/livez":    {HTTPGet: &HTTPGet{Path: "moved", Port: appPort}},
		"/app-health/b/readyz":   {HTTPGet: &HTTPGet{Path: "/sick", Port: appPort}},
		"/app-health/b/livez":    {HTTPGet: &HTTPGet{Path: "/slow", Port: appPort}, TimeoutSeconds: 1},
		"/app-health/c/readyz":   {HTTPGet: &HTTPGet{Path: "/", Port: tlsPort, Scheme: "HTTPS"}},
		"/app-health/d/readyz":   {TCPSocket: &TCPSocket{Port: appPort}},
		"/app-health/d/livez":    {TCPSocket: &TCPSocket{Port: closedPort}},
		"/app-health/e/readyz":   {GRPC: &GRPC{Port: grpcPort}},
		"/app-health/e/livez":    {GRPC: &GRPC{Port: grpcPort, Service: &down}},
		"/app-health/e/startupz": {GRPC: &GRPC{Port: closedPort}},
	}
	status := httptest.NewServer(NewHandler(set, Options{}))
	defer status.Close()
	for path, want := range map[string]int{
		"/app-health/a/readyz": 200, "/app-health/a/livez": 200, "/app-health/b/readyz": 500, "/app-health/b/livez": 503,
		"/app-health/c/readyz": 200, "/app-health/d/readyz": 200, "/app-health/d/livez": 503,
		"/app-health/e/readyz": 200, "/app-health/e/livez": 503, "/app-health/e/startupz": 503,
		"/app-health/x/readyz": 404,
	} {
		t.Run(path, func(t *testing.T) {
			u, _ := url.JoinPath(status.URL, path)
			req, _ := http.NewRequest(http.MethodGet, u, nil)
			req.Header.Set("User-Agent", "kube-probe/1.34")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("status %d, want %d", resp.StatusCode, want)
			}
		})
	}
}
