package accesslog

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/leaktest"
	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// TestMain fails when a flush goroutine outlives the tests.
func TestMain(m *testing.M) {
	leaktest.Main(m, 500*time.Millisecond, "accesslog.(*writer).run")
}

// parseLogs reads access log configs from YAML, as they appear in an HCM.
func parseLogs(t testing.TB, yamls ...string) []*accesslogv3.AccessLog {
	t.Helper()
	var out []*accesslogv3.AccessLog
	for _, y := range yamls {
		al := &accesslogv3.AccessLog{}
		if err := config.Unmarshal([]byte(y), al); err != nil {
			t.Fatalf("parse %s: %v", y, err)
		}
		out = append(out, al)
	}
	return out
}

// syncBuffer is a bytes.Buffer safe for the flush goroutine and the test.
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

var testStart = time.Date(2016, 4, 15, 20, 17, 0, 310_000_000, time.UTC)

func testInfo() *streaminfo.Info {
	req := header.Of(":method", "POST", ":path", "/api/v1/locations", ":authority", "locations",
		"x-forwarded-for", "10.0.35.28", "user-agent", "nsq2http", "x-request-id", "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2")
	resp := header.Of(":status", "204", "x-envoy-upstream-service-time", "100")
	return &streaminfo.Info{
		Start:           testStart,
		Protocol:        "HTTP/2",
		ResponseCode:    204,
		BytesReceived:   154,
		End:             226 * time.Millisecond,
		UpstreamHost:    netip.MustParseAddrPort("10.0.2.1:80"),
		UpstreamCluster: "locations",
		RequestHeaders:  &req,
		ResponseHeaders: &resp,
	}
}

const defaultLine = `[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 - 154 0 226 100 "10.0.35.28" ` +
	`"nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "10.0.2.1:80"` + "\n"

func TestNewEmpty(t *testing.T) {
	l, err := New(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(testInfo()) // must not panic
}

func TestStreamLoggers(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string
	}{{
		name: "stdout default format",
		yaml: `{name: envoy.access_loggers.stdout, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}}`,
		want: defaultLine,
	}, {
		name: "stdout text_format_source",
		yaml: `
name: envoy.access_loggers.stdout
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
  log_format: {text_format_source: {inline_string: "%RESPONSE_CODE% %UPSTREAM_CLUSTER% %REQ(missing)%\n"}}`,
		want: "204 locations -\n",
	}, {
		name: "deprecated text_format with omit_empty_values",
		yaml: `
name: envoy.access_loggers.stdout
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
  log_format: {text_format: "[%REQ(missing)%]\n", omit_empty_values: true}`,
		want: "[]\n",
	}, {
		name: "json_format",
		yaml: `
name: envoy.access_loggers.stdout
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog
  log_format:
    json_format: {code: "%RESPONSE_CODE%", path: "%REQ(:PATH)%", missing: "%REQ(missing)%", d: "%DURATION%"}`,
		want: `{"code":204,"d":226,"missing":null,"path":"/api/v1/locations"}` + "\n",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out syncBuffer
			m := NewManager(WithStdout(&out))
			l, err := New(parseLogs(t, tt.yaml), m)
			if err != nil {
				t.Fatal(err)
			}
			l.Log(testInfo())
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, out.String()); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestStderr(t *testing.T) {
	var stdout, stderr syncBuffer
	m := NewManager(WithStdout(&stdout), WithStderr(&stderr))
	l, err := New(parseLogs(t, `{name: e, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog, log_format: {text_format_source: {inline_string: "err\n"}}}}`), m)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(testInfo())
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if stderr.String() != "err\n" || stdout.String() != "" {
		t.Errorf("stderr = %q, stdout = %q; want %q, %q", stderr.String(), stdout.String(), "err\n", "")
	}
}

func fileLogYAML(path, format string) string {
	y := fmt.Sprintf(`
name: envoy.access_loggers.file
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: %q`, path)
	if format != "" {
		y += fmt.Sprintf("\n  log_format: {text_format_source: {inline_string: %q}}", format)
	}
	return y
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestFileLogger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	m := NewManager()
	// Two loggers on one path share one writer.
	l, err := New(parseLogs(t, fileLogYAML(path, ""), fileLogYAML(path, "second %RESPONSE_CODE%\n")), m)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(testInfo())
	if n := len(m.snapshot()); n != 1 {
		t.Errorf("manager has %d writers, want 1 shared by path", n)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(defaultLine+"second 204\n", readFile(t, path)); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	l.Log(testInfo()) // after Close: dropped, not written
	if m.Dropped() != 2 {
		t.Errorf("Dropped() = %d after Close, want 2", m.Dropped())
	}
}

func TestFileFlushInterval(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	m := NewManager(WithFlushInterval(10 * time.Millisecond))
	defer m.Close()
	l, err := New(parseLogs(t, fileLogYAML(path, "x\n")), m)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(testInfo())
	deadline := time.Now().Add(5 * time.Second)
	for readFile(t, path) != "x\n" {
		if time.Now().After(deadline) {
			t.Fatalf("entry not flushed within 5s; file = %q", readFile(t, path))
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestReopenAfterRename(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "access.log")
	m := NewManager(WithFlushInterval(time.Hour))
	l, err := New(parseLogs(t, fileLogYAML(path, "%RESPONSE_CODE%\n")), m)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(&streaminfo.Info{ResponseCode: 200})
	if err := os.Rename(path, path+".1"); err != nil {
		t.Fatal(err)
	}
	if err := m.Reopen(); err != nil {
		t.Fatal(err)
	}
	l.Log(&streaminfo.Info{ResponseCode: 503})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, path+".1"); got != "200\n" {
		t.Errorf("rotated file = %q, want %q", got, "200\n")
	}
	if got := readFile(t, path); got != "503\n" {
		t.Errorf("new file = %q, want %q", got, "503\n")
	}
	if err := m.Reopen(); err == nil {
		t.Error("Reopen after Close succeeded, want an error")
	}
}

func TestReopenFailureKeepsOldFile(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "logs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(sub, "access.log")
	m := NewManager(WithFlushInterval(time.Hour))
	l, err := New(parseLogs(t, fileLogYAML(path, "%RESPONSE_CODE%\n")), m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(sub, filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	if err := m.Reopen(); err == nil || !strings.Contains(err.Error(), "reopen") {
		t.Errorf("Reopen error = %v, want one saying reopen failed", err)
	}
	l.Log(&streaminfo.Info{ResponseCode: 200})
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "moved", "access.log")); got != "200\n" {
		t.Errorf("old file = %q, want %q", got, "200\n")
	}
}

// blockingWriter blocks every Write until released.
type blockingWriter struct {
	release chan struct{}
	syncBuffer
}

func (b *blockingWriter) Write(p []byte) (int, error) {
	<-b.release
	return b.syncBuffer.Write(p)
}

func TestSlowOutputDropsAndCounts(t *testing.T) {
	out := &blockingWriter{release: make(chan struct{})}
	m := NewManager(WithStdout(out), WithBufferLimit(100), WithFlushInterval(time.Millisecond))
	l, err := New(parseLogs(t, `{name: s, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, log_format: {text_format_source: {inline_string: "0123456789\n"}}}}`), m)
	if err != nil {
		t.Fatal(err)
	}
	for range 1000 {
		l.Log(&streaminfo.Info{})
	}
	dropped := m.Dropped()
	close(out.release)
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	written := strings.Count(out.String(), "\n")
	if dropped == 0 || written+int(dropped) != 1000 || written > 2*100/11+1 {
		t.Errorf("written %d, dropped %d; want at most %d written, the rest dropped", written, dropped, 2*100/11+1)
	}
}

func TestConcurrentLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "access.log")
	m := NewManager(WithFlushInterval(time.Millisecond))
	l, err := New(parseLogs(t, fileLogYAML(path, "")), m)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			info := testInfo()
			for range 500 {
				l.Log(info)
			}
		})
	}
	wg.Wait()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	got := readFile(t, path)
	if n := strings.Count(got, defaultLine); n != 4000 || len(got) != 4000*len(defaultLine) {
		t.Errorf("file has %d intact lines of %d bytes, want 4000", n, len(got))
	}
	if m.Dropped() != 0 {
		t.Errorf("Dropped() = %d, want 0", m.Dropped())
	}
}

// TestIstioStdoutJSON uses the access log Istio generates with accessLogEncoding:
// JSON: a file logger on /dev/stdout, which goes to the Manager's stdout writer.
func TestIstioStdoutJSON(t *testing.T) {
	var out syncBuffer
	m := NewManager(WithStdout(&out))
	l, err := New(parseLogs(t, `
name: envoy.access_loggers.file
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: /dev/stdout
  log_format:
    json_format:
      authority: "%REQ(:AUTHORITY)%"
      bytes_received: "%BYTES_RECEIVED%"
      bytes_sent: "%BYTES_SENT%"
      connection_termination_details: "%CONNECTION_TERMINATION_DETAILS%"
      downstream_local_address: "%DOWNSTREAM_LOCAL_ADDRESS%"
      downstream_remote_address: "%DOWNSTREAM_REMOTE_ADDRESS%"
      duration: "%DURATION%"
      method: "%REQ(:METHOD)%"
      path: "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%"
      protocol: "%PROTOCOL%"
      request_id: "%REQ(X-REQUEST-ID)%"
      requested_server_name: "%REQUESTED_SERVER_NAME%"
      response_code: "%RESPONSE_CODE%"
      response_code_details: "%RESPONSE_CODE_DETAILS%"
      response_flags: "%RESPONSE_FLAGS%"
      route_name: "%ROUTE_NAME%"
      start_time: "%START_TIME%"
      upstream_cluster: "%UPSTREAM_CLUSTER_RAW%"
      upstream_host: "%UPSTREAM_HOST%"
      upstream_local_address: "%UPSTREAM_LOCAL_ADDRESS%"
      upstream_service_time: "%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)%"
      upstream_transport_failure_reason: "%UPSTREAM_TRANSPORT_FAILURE_REASON%"
      user_agent: "%REQ(USER-AGENT)%"
      x_forwarded_for: "%REQ(X-FORWARDED-FOR)%"`,
		`{name: envoy.access_loggers.stdout, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, log_format: {text_format_source: {inline_string: "second\n"}}}}`), m)
	if err != nil {
		t.Fatal(err)
	}
	l.Log(testInfo())
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	want := `{"authority":"locations","bytes_received":154,"bytes_sent":0,"connection_termination_details":null,` +
		`"downstream_local_address":null,"downstream_remote_address":null,"duration":226,"method":"POST",` +
		`"path":"/api/v1/locations","protocol":"HTTP/2","request_id":"cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2",` +
		`"requested_server_name":null,"response_code":204,"response_code_details":null,"response_flags":"-",` +
		`"route_name":null,"start_time":"2016-04-15T20:17:00.310Z","upstream_cluster":"locations",` +
		`"upstream_host":"10.0.2.1:80","upstream_local_address":null,"upstream_service_time":"100",` +
		`"upstream_transport_failure_reason":null,"user_agent":"nsq2http","x_forwarded_for":"10.0.35.28"}` + "\n" +
		"second\n"
	if diff := cmp.Diff(want, out.String()); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}
