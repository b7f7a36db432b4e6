package admin

import (
	"net/http"
	"testing"

	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftmesh/weft/internal/proxy/runtime"
)

func TestRuntime(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "GET", "/runtime")
	expect(t, rec, http.StatusOK, contentTypeJSON)
	golden(t, "runtime.golden", rec.Body.Bytes())

	rec = f.do(t, "POST", "/runtime_modify?health_check.min_interval=9&new.key=on")
	expect(t, rec, http.StatusOK, contentTypeText)
	if rec.Body.String() != "OK\n" {
		t.Errorf("body %q", rec.Body)
	}
	if got := f.deps.Runtime.Uint("health_check.min_interval", 0); got != 9 {
		t.Errorf("override %d", got)
	}
	rec = f.doBody(t, "POST", "/runtime_modify", "new.key=")
	if rec.Code != http.StatusOK {
		t.Fatalf("form body: %d %q", rec.Code, rec.Body)
	}
	rec = f.do(t, "GET", "/runtime")
	golden(t, "runtime_modified.golden", rec.Body.Bytes())
	unmarshal(t, rec, &structpb.Struct{})
}

func TestRuntimeModifyErrors(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "POST", "/runtime_modify")
	expect(t, rec, http.StatusBadRequest, contentTypeText)
	want := "usage: /runtime_modify?key1=value1&key2=value2&keyN=valueN\n" +
		"       or send the parameters as form values\n" +
		"use an empty value to remove a previously added override"
	if rec.Body.String() != want {
		t.Errorf("body %q", rec.Body)
	}

	f.deps.Runtime, _ = runtime.New(nil)
	f.srv = New(f.deps)
	rec = f.do(t, "POST", "/runtime_modify?a=b")
	expect(t, rec, http.StatusServiceUnavailable, contentTypeText)
	if rec.Body.String() != "No admin layer specified" {
		t.Errorf("body %q", rec.Body)
	}
	rec = f.do(t, "GET", "/runtime")
	if rec.Body.String() != "{\n \"entries\": {},\n \"layers\": []\n}\n" {
		t.Errorf("null runtime: %q", rec.Body)
	}
}
