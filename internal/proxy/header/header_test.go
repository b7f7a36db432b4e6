package header

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func names(m *Map) []string {
	var out []string
	for _, f := range m.Fields() {
		out = append(out, f.Name+"="+f.Value)
	}
	return out
}

func TestMap(t *testing.T) {
	m := Of("x-a", "1", ":method", "GET", "x-b", "2", "x-a", "3")
	m.Add(Path, "/")
	if d := cmp.Diff([]string{":method=GET", ":path=/", "x-a=1", "x-b=2", "x-a=3"}, names(&m)); d != "" {
		t.Errorf("pseudo-headers first:\n%s", d)
	}
	if v, _ := m.Joined("x-a"); v != "1,3" {
		t.Errorf("Joined = %q", v)
	}
	m.Set("x-a", "9")
	if d := cmp.Diff([]string{":method=GET", ":path=/", "x-a=9", "x-b=2"}, names(&m)); d != "" {
		t.Errorf("Set keeps the first position and drops the rest:\n%s", d)
	}
	if !m.Del("x-b") || m.Del("x-b") || m.Has("x-b") {
		t.Error("Del")
	}
	m.SetDefault("x-a", "no")
	m.SetDefault("x-c", "yes")
	if m.Get("x-a") != "9" || m.Get("x-c") != "yes" || m.Count("x-a") != 1 {
		t.Errorf("SetDefault: %v", names(&m))
	}
	c := m.Clone()
	c.Set("x-a", "changed")
	if m.Get("x-a") != "9" {
		t.Error("Clone shares storage")
	}
	m.Reset()
	if m.Len() != 0 {
		t.Error("Reset")
	}
}
