package memory_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/memory"
)

func dr(ns, name, host string) config.Config {
	return config.Config{Kind: config.DestinationRule, Namespace: ns, Name: name, Spec: &networking.DestinationRule{Host: host}}
}

func TestStore(t *testing.T) {
	s := memory.New()
	var got []string
	s.Subscribe(func(ev config.Event) {
		got = append(got, []string{"added", "updated", "deleted"}[ev.Type]+" "+ev.Config.Key()+" rv="+ev.Config.ResourceVersion)
	})
	steps := []struct {
		name    string
		do      func() error
		wantErr string
	}{
		{"add b", func() error { return s.Add(dr("ns", "b", "b")) }, ""},
		{"add a", func() error { return s.Add(dr("ns", "a", "a")) }, ""},
		{"add a again", func() error { return s.Add(dr("ns", "a", "a")) }, "add DestinationRule/ns/a: already exists"},
		{"add invalid", func() error { return s.Add(dr("ns", "c", "")) }, "add: DestinationRule ns/c: spec.host: is required"},
		{"update a", func() error { return s.Update(dr("ns", "a", "a2")) }, ""},
		{"update missing", func() error { return s.Update(dr("ns", "z", "z")) }, "update DestinationRule/ns/z: not found"},
		{"delete b", func() error { return s.Delete(config.DestinationRule, "ns", "b") }, ""},
		{"delete missing", func() error { return s.Delete(config.DestinationRule, "ns", "b") }, "delete DestinationRule/ns/b: not found"},
	}
	for _, st := range steps {
		err := st.do()
		if (err == nil) != (st.wantErr == "") || (err != nil && err.Error() != st.wantErr) {
			t.Errorf("%s: error %v, want %q", st.name, err, st.wantErr)
		}
	}
	want := []string{
		"added DestinationRule/ns/b rv=1",
		"added DestinationRule/ns/a rv=2",
		"updated DestinationRule/ns/a rv=3",
		"deleted DestinationRule/ns/b rv=1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	l := s.List(config.DestinationRule)
	if len(l) != 1 || l[0].Spec.(*networking.DestinationRule).Host != "a2" || l[0].CreationTime.IsZero() {
		t.Errorf("List = %+v", l)
	}
}

func TestListOrderAndCreationTime(t *testing.T) {
	s := memory.New()
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	c := dr("b", "x", "x")
	c.CreationTime = created
	for _, cfg := range []config.Config{c, dr("a", "y", "y"), dr("a", "x", "x")} {
		if err := s.Add(cfg); err != nil {
			t.Fatal(err)
		}
	}
	var keys []string
	for _, c := range s.List(config.DestinationRule) {
		keys = append(keys, c.Namespace+"/"+c.Name)
	}
	if strings.Join(keys, " ") != "a/x a/y b/x" {
		t.Errorf("order %v", keys)
	}
	if err := s.Update(dr("b", "x", "x2")); err != nil {
		t.Fatal(err)
	}
	if got := s.List(config.DestinationRule)[2].CreationTime; !got.Equal(created) {
		t.Errorf("update lost the creation time: %v", got)
	}
}

func TestWithoutValidation(t *testing.T) {
	s := memory.New(memory.WithoutValidation())
	if err := s.Add(dr("ns", "c", "")); err != nil {
		t.Errorf("Add = %v, want no validation", err)
	}
}

func TestRunReturnsOnCancel(t *testing.T) {
	s := memory.New()
	if !s.HasSynced() {
		t.Error("not synced")
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- s.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Run did not return")
	}
}
