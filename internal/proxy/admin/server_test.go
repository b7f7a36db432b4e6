package admin

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
)

func TestHelp(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "GET", "/help")
	expect(t, rec, http.StatusOK, contentTypeText)
	golden(t, "help.golden", rec.Body.Bytes())
	if got := rec.Header().Get("Cache-Control"); got != "no-cache, max-age=0" {
		t.Errorf("Cache-Control %q", got)
	}
	if got := rec.Header().Get("X-Content-Type-Options"); got != "nosniff" {
		t.Errorf("X-Content-Type-Options %q", got)
	}
}

func TestNotFound(t *testing.T) {
	f := newFixture(t)
	for _, target := range []string{"/nope", "/stats/", "/clusters/x"} {
		rec := f.do(t, "GET", target)
		expect(t, rec, http.StatusNotFound, contentTypeText)
		if want := "invalid path. " + f.srv.helpText(); rec.Body.String() != want {
			t.Errorf("%s: body %q", target, rec.Body)
		}
	}
}

// TestMethodNotAllowed checks that every endpoint that changes state refuses GET with
// Envoy's 405 and body, and that the others do not.
func TestMethodNotAllowed(t *testing.T) {
	f := newFixture(t)
	mutating := 0
	for _, e := range f.srv.endpoints {
		if !e.mutates {
			continue
		}
		mutating++
		rec := f.do(t, "GET", e.path)
		expect(t, rec, http.StatusMethodNotAllowed, contentTypeText)
		if want := "Method GET not allowed, POST required."; rec.Body.String() != want {
			t.Errorf("%s: body %q, want %q", e.path, rec.Body, want)
		}
	}
	if mutating != 13 {
		t.Errorf("%d mutating endpoints, want 13", mutating)
	}
	if rec := f.do(t, "PUT", "/quitquitquit"); rec.Body.String() != "Method PUT not allowed, POST required." {
		t.Errorf("PUT: %q", rec.Body)
	}
	select {
	case <-f.quits:
		t.Error("a refused /quitquitquit quit")
	default:
	}
}

func TestHome(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "GET", "/")
	expect(t, rec, http.StatusOK, contentTypeHTML)
	body := rec.Body.String()
	for _, want := range []string{
		"<a href='clusters'>clusters</a>",
		"<form action='quitquitquit' method='post'",
		"<form action='config_dump' method='get'",
		"<input type='checkbox' name='include_eds'",
		"<option value='json'>json</option>",
		"print server stats in prometheus format",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("home page lacks %q", want)
		}
	}
	for _, e := range f.srv.endpoints {
		if e.path != "/" && !strings.Contains(body, "'"+strings.TrimPrefix(e.path, "/")+"'") {
			t.Errorf("home page lacks %s", e.path)
		}
	}
}

func TestServerInfo(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "GET", "/server_info")
	expect(t, rec, http.StatusOK, contentTypeJSON)
	got := &adminv3.ServerInfo{}
	unmarshal(t, rec, got)
	want := &adminv3.ServerInfo{
		Version:            "weft/1.0.0-test",
		State:              adminv3.ServerInfo_LIVE,
		HotRestartVersion:  "disabled",
		UptimeCurrentEpoch: durationpb.New(42 * time.Second),
		UptimeAllEpochs:    durationpb.New(42 * time.Second),
		CommandLineOptions: &adminv3.CommandLineOptions{
			Concurrency: 2, ConfigPath: "/etc/weft/bootstrap.yaml", LogLevel: "info",
			ServiceCluster: "app.default", ServiceNode: "sidecar~10.0.0.1~app-0.default~default.svc.cluster.local",
			ServiceZone: "us-east1-b", DisableHotRestart: true, DrainTime: durationpb.New(45 * time.Second),
		},
		Node: &corev3.Node{
			Id: "sidecar~10.0.0.1~app-0.default~default.svc.cluster.local", Cluster: "app.default",
			Locality: &corev3.Locality{Region: "us-east1", Zone: "us-east1-b"},
		},
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("server_info (-want +got):\n%s", diff)
	}
	// Primitive fields print even at their default, as Envoy prints them.
	for _, key := range []string{`"state": "LIVE"`, `"restart_epoch": 0`, `"mode": "Serve"`, `"uptime_current_epoch": "42s"`} {
		if !strings.Contains(rec.Body.String(), key) {
			t.Errorf("server_info lacks %s:\n%s", key, rec.Body)
		}
	}
}

func TestReady(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "GET", "/ready")
	expect(t, rec, http.StatusOK, contentTypeText)
	if rec.Body.String() != "LIVE\n" {
		t.Errorf("body %q", rec.Body)
	}
	f.do(t, "POST", "/healthcheck/fail")
	rec = f.do(t, "GET", "/ready")
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != "DRAINING\n" {
		t.Errorf("after /healthcheck/fail: %d %q", rec.Code, rec.Body)
	}
	f.do(t, "POST", "/healthcheck/ok")
	f.deps.State = func() adminv3.ServerInfo_State { return adminv3.ServerInfo_INITIALIZING }
	f.srv = New(f.deps)
	rec = f.do(t, "GET", "/ready")
	if rec.Code != http.StatusServiceUnavailable || rec.Body.String() != "INITIALIZING\n" {
		t.Errorf("initializing: %d %q", rec.Code, rec.Body)
	}
}

func TestMemory(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "GET", "/memory")
	expect(t, rec, http.StatusOK, contentTypeJSON)
	m := &adminv3.Memory{}
	unmarshal(t, rec, m)
	if m.Allocated == 0 || m.HeapSize < m.Allocated || m.TotalPhysicalBytes == 0 {
		t.Errorf("implausible memory figures: %v", m)
	}
	for _, key := range []string{"allocated", "heap_size", "pageheap_unmapped", "pageheap_free", "total_thread_cache", "total_physical_bytes"} {
		if !strings.Contains(rec.Body.String(), "\n \""+key+"\": \"") {
			t.Errorf("memory lacks %s:\n%s", key, rec.Body)
		}
	}
}

func TestHotRestartVersion(t *testing.T) {
	rec := newFixture(t).do(t, "GET", "/hot_restart_version")
	expect(t, rec, http.StatusOK, contentTypeText)
	if rec.Body.String() != "disabled" {
		t.Errorf("body %q", rec.Body)
	}
}

func TestInitDump(t *testing.T) {
	f := newFixture(t)
	for _, target := range []string{"/init_dump", "/init_dump?mask=listener"} {
		rec := f.do(t, "GET", target)
		expect(t, rec, http.StatusOK, contentTypeJSON)
		if rec.Body.String() != "{}\n" {
			t.Errorf("%s: body %q", target, rec.Body)
		}
	}
}

func TestCerts(t *testing.T) {
	rec := newFixture(t).do(t, "GET", "/certs")
	expect(t, rec, http.StatusOK, contentTypeJSON)
	c := &adminv3.Certificates{}
	unmarshal(t, rec, c)
	if rec.Body.String() != "{\n \"certificates\": []\n}\n" {
		t.Errorf("body %q", rec.Body)
	}
}

// TestServe runs the server on a real socket and stops it with its context.
func TestServe(t *testing.T) {
	f := newFixture(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.srv.Serve(ctx, ln) }()
	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("http://" + ln.Addr().String() + "/ready")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || string(body) != "LIVE\n" {
		t.Errorf("/ready: %d %q", resp.StatusCode, body)
	}
	resp, err = client.Post("http://"+ln.Addr().String()+"/quitquitquit", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	<-f.quits
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Serve: %v", err)
	}
}
