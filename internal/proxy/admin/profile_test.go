package admin

import (
	"net/http"
	"os"
	"strings"
	"testing"
)

func TestCPUProfiler(t *testing.T) {
	f := newFixture(t)
	path := f.bootstrap.GetAdmin().GetProfilePath()
	for _, target := range []string{"/cpuprofiler", "/cpuprofiler?enable=x", "/cpuprofiler?enable=y&x=1"} {
		rec := f.do(t, "POST", target)
		expect(t, rec, http.StatusBadRequest, contentTypeText)
		if rec.Body.String() != "?enable=<y|n>\n" {
			t.Errorf("%s: body %q", target, rec.Body)
		}
	}
	for _, target := range []string{"/cpuprofiler?enable=y", "/cpuprofiler?enable=y", "/cpuprofiler?enable=n", "/cpuprofiler?enable=n"} {
		rec := f.do(t, "POST", target)
		expect(t, rec, http.StatusOK, contentTypeText)
		if rec.Body.String() != "OK\n" {
			t.Errorf("%s: body %q", target, rec.Body)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("CPU profile %s: %v", path, err)
	}
}

func TestHeapProfiler(t *testing.T) {
	f := newFixture(t)
	path := f.bootstrap.GetAdmin().GetProfilePath() + ".heap"
	for _, tc := range []struct {
		enable string
		code   int
		body   string
	}{
		{"n", 400, "Fail to stop heap profiler: not started"},
		{"y", 200, "Starting heap profiler"},
		{"y", 400, "Fail to start heap profiler: already started"},
		{"n", 200, "Heap profiler stopped and data written to " + path + ". See https://pkg.go.dev/runtime/pprof for details."},
	} {
		rec := f.do(t, "POST", "/heapprofiler?enable="+tc.enable)
		expect(t, rec, tc.code, contentTypeText)
		if rec.Body.String() != tc.body {
			t.Errorf("enable=%s: body %q, want %q", tc.enable, rec.Body, tc.body)
		}
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("heap profile %s: %v", path, err)
	}
}

func TestHeapDump(t *testing.T) {
	rec := newFixture(t).do(t, "GET", "/heap_dump")
	expect(t, rec, http.StatusOK, "application/octet-stream")
	// pprof profiles are gzipped protobuf.
	if !strings.HasPrefix(rec.Body.String(), "\x1f\x8b") {
		t.Errorf("not a gzipped pprof profile: %q", rec.Body.Bytes()[:min(8, rec.Body.Len())])
	}
}
