package cli

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestDemoCurl(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, r.Header.Get("End-User"))
	}))
	defer srv.Close()
	out, err := run(t, "demo", "curl", "-s", "-H", "end-user: jason", "-w", `|%{http_code}`, srv.URL)
	if err != nil || out != "jason|418" {
		t.Errorf("demo curl = %q, %v", out, err)
	}
	if _, err := run(t, "demo", "curl", "-f", srv.URL); err == nil {
		t.Error("demo curl -f on 418 succeeded")
	}
}

func TestDemoBookinfoRejectsUnknown(t *testing.T) {
	if _, err := run(t, "demo", "bookinfo", "frontend"); err == nil || !strings.Contains(err.Error(), "unknown bookinfo service") {
		t.Errorf("demo bookinfo frontend: %v", err)
	}
	if _, err := run(t, "demo", "bookinfo", "reviews", "--version", "v4"); err == nil {
		t.Error("demo bookinfo reviews --version v4 succeeded")
	}
}

// TestDemoServesOnPortEnv: with no --port the app listens on $PORT, and stops when its
// context ends.
func TestDemoServesOnPortEnv(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	t.Setenv("PORT", strconv.Itoa(port))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() {
		var out bytes.Buffer
		root := newRoot(&out, &out)
		root.SetArgs([]string{"demo", "bookinfo", "ratings", "--bind", "127.0.0.1"})
		done <- root.ExecuteContext(ctx)
	}()
	var body string
	for i := 0; i < 100 && body == ""; i++ {
		if resp, err := http.Get("http://127.0.0.1:" + strconv.Itoa(port) + "/ratings/0"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	if !strings.Contains(body, `"Reviewer1":5`) {
		t.Errorf("ratings on $PORT answered %q", body)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("demo bookinfo ratings: %v", err)
	}
}
