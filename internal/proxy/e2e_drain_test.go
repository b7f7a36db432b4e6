package proxy_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy"
)

// TestDrain stops the proxy while a request is in flight: the request finishes with
// "connection: close", the listener stops accepting, and Run returns once the
// connection is done, well before the drain time.
func TestDrain(t *testing.T) {
	t.Parallel()
	started := make(chan struct{}, 1)
	up := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		time.Sleep(300 * time.Millisecond)
		io.WriteString(w, "done")
	}))
	routes := `
- match: {prefix: "/"}
  route: {cluster: slow}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), staticCluster("slow", "", up.Listener.Addr().String()))
	ctx, cancel := context.WithCancel(context.Background())
	p, err := proxy.New(ctx, b, proxy.Options{DrainTime: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ran := make(chan time.Time)
	go func() { p.Run(ctx); ran <- time.Now() }()
	addr := strings.TrimPrefix(listenerURL(t, p, "l"), "http://")

	// A connection waiting for its first request is closed as soon as draining starts.
	idle, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.Close()
	done := make(chan string)
	go func() {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			done <- err.Error()
			return
		}
		defer c.Close()
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: a\r\n\r\n")
		out, _ := io.ReadAll(c)
		done <- string(out)
	}()
	<-started // the request is in flight upstream
	cancel()
	stopAt := time.Now()
	out := <-done
	if !strings.HasPrefix(out, "HTTP/1.1 200 ") || !strings.Contains(out, "connection: close") || !strings.HasSuffix(out, "done") {
		t.Errorf("in-flight request during drain got %q", out)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Error("listener still accepts after drain started")
	}
	idle.SetReadDeadline(time.Now().Add(time.Second))
	if n, err := idle.Read(make([]byte, 1)); n != 0 || err != io.EOF {
		t.Errorf("idle connection during drain: read %d, %v; want EOF", n, err)
	}
	select {
	case end := <-ran:
		if end.Sub(stopAt) > 3*time.Second {
			t.Errorf("Run returned %v after the stop, want soon after the last connection", end.Sub(stopAt))
		}
	case <-time.After(8 * time.Second):
		t.Fatal("Run did not return")
	}
}
