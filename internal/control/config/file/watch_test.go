package file_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
)

func reviewsVS(subset string) string {
	return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata:
  name: reviews
spec:
  hosts: [reviews]
  http:
  - route:
    - destination: {host: reviews, subset: ` + subset + "}\n"
}

const reviewsDR = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
`

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

// eventOf is an event reduced to what the tests compare.
type eventOf struct {
	typ config.EventType
	key string
}

// nextEvent waits for the next event.
func nextEvent(t *testing.T, events <-chan config.Event) config.Event {
	t.Helper()
	select {
	case ev := <-events:
		return ev
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
	}
	return config.Event{}
}

func expectEvent(t *testing.T, events <-chan config.Event, want eventOf) config.Event {
	t.Helper()
	ev := nextEvent(t, events)
	if got := (eventOf{ev.Type, ev.Config.Key()}); got != want {
		t.Fatalf("event %+v, want %+v", got, want)
	}
	return ev
}

// eventually polls cond for up to 5s.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func subsetOf(c config.Config) string {
	return c.Spec.(*networking.VirtualService).Http[0].Route[0].Destination.Subset
}

// TestWatch follows a directory through additions, edits, a broken edit, its fix and a
// removal, and checks the events, the errors and that Run returns when ctx ends.
func TestWatch(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	write(t, a, reviewsVS("v1"))
	s := file.New(dir, file.WithDebounce(20*time.Millisecond))
	events := make(chan config.Event, 100)
	s.Subscribe(func(ev config.Event) { events <- ev })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	first := expectEvent(t, events, eventOf{config.Added, "VirtualService/default/reviews"})
	eventually(t, "sync", s.HasSynced)

	write(t, filepath.Join(dir, "sub", "dr.yaml"), reviewsDR)
	expectEvent(t, events, eventOf{config.Added, "DestinationRule/default/reviews"})

	write(t, a, reviewsVS("v2"))
	second := expectEvent(t, events, eventOf{config.Updated, "VirtualService/default/reviews"})
	if second.Config.ResourceVersion == first.Config.ResourceVersion {
		t.Errorf("resource version did not change on edit")
	}

	// A change of layout only is not a change: the next event is the broken edit's fix.
	write(t, a, "# just a comment\n"+reviewsVS("v2"))
	time.Sleep(100 * time.Millisecond)

	write(t, a, "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews\n")
	eventually(t, "the broken edit to be reported", func() bool { return len(s.Errors()) == 1 })
	if err := s.Errors()[0]; err.File != a || !strings.Contains(err.Error(), "invalid YAML") {
		t.Errorf("error %v, want invalid YAML in %s", err, a)
	}
	if l := s.List(config.VirtualService); len(l) != 1 || subsetOf(l[0]) != "v2" {
		t.Errorf("after a broken edit the store holds %+v, want the last good reviews (v2)", l)
	}

	write(t, a, reviewsVS("v3"))
	ev := expectEvent(t, events, eventOf{config.Updated, "VirtualService/default/reviews"})
	if subsetOf(ev.Config) != "v3" {
		t.Errorf("fixed object routes to %s, want v3", subsetOf(ev.Config))
	}
	eventually(t, "the error to clear", func() bool { return len(s.Errors()) == 0 })

	if err := os.Remove(a); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, events, eventOf{config.Deleted, "VirtualService/default/reviews"})

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	select {
	case ev := <-events:
		t.Errorf("unexpected event %+v", eventOf{ev.Type, ev.Config.Key()})
	default:
	}
}

// TestRunMissingDir checks that Run fails at once for a directory that does not exist.
func TestRunMissingDir(t *testing.T) {
	s := file.New(filepath.Join(t.TempDir(), "missing"))
	if err := s.Run(context.Background()); err == nil {
		t.Fatal("Run succeeded on a missing directory")
	}
}

// TestReloadKeepsLastGood checks, without watching, how invalid edits and duplicates
// are handled: the last good object stays until the document is fixed or removed.
func TestReloadKeepsLastGood(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.yaml")
	s := file.New(dir, file.WithDefaultNamespace("shop"))
	reload := func() {
		t.Helper()
		if err := s.Reload(); err != nil {
			t.Fatal(err)
		}
	}
	subsets := func() []string {
		var out []string
		for _, c := range s.List(config.VirtualService) {
			out = append(out, c.Namespace+"/"+c.Name+"="+subsetOf(c))
		}
		return out
	}
	steps := []struct {
		name       string
		files      map[string]string
		wantVS     []string
		wantErrors int
	}{
		{"valid", map[string]string{a: reviewsVS("v1")}, []string{"shop/reviews=v1"}, 0},
		{"validation error keeps v1", map[string]string{a: strings.Replace(reviewsVS("v9"), "host: reviews", "host: \"*\"", 1)},
			[]string{"shop/reviews=v1"}, 1},
		{"duplicate in another file", map[string]string{a: reviewsVS("v2"), filepath.Join(dir, "b.yaml"): reviewsVS("v5")},
			[]string{"shop/reviews=v2"}, 1},
		{"duplicate removed", map[string]string{filepath.Join(dir, "b.yaml"): ""}, []string{"shop/reviews=v2"}, 0},
		{"document removed", map[string]string{a: reviewsDR}, nil, 0},
	}
	for _, step := range steps {
		for p, data := range step.files {
			write(t, p, data)
		}
		reload()
		if got := subsets(); strings.Join(got, ",") != strings.Join(step.wantVS, ",") {
			t.Errorf("%s: virtual services %v, want %v", step.name, got, step.wantVS)
		}
		if got := len(s.Errors()); got != step.wantErrors {
			t.Errorf("%s: %d errors (%v), want %d", step.name, got, s.Errors(), step.wantErrors)
		}
	}
}

// TestSkipped checks that objects of other kinds are listed for the local mesh.
func TestSkipped(t *testing.T) {
	dir := t.TempDir()
	write(t, filepath.Join(dir, "app.yml"), "apiVersion: v1\nkind: Service\nmetadata: {name: reviews}\nspec: {ports: [{port: 9080}]}\n---\n"+reviewsDR)
	write(t, filepath.Join(dir, ".hidden", "x.yaml"), reviewsVS("v1"))
	write(t, filepath.Join(dir, "notes.txt"), "not config")
	s := file.New(dir)
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	sk := s.Skipped()
	if len(sk) != 1 || sk[0].Kind != "Service" || sk[0].Name != "reviews" || sk[0].Namespace != "default" ||
		!strings.Contains(string(sk[0].JSON), `"port":9080`) {
		t.Errorf("skipped = %+v", sk)
	}
	if n := len(s.List(config.VirtualService)); n != 0 {
		t.Errorf("hidden directory was read: %d virtual services", n)
	}
	if n := len(s.List(config.DestinationRule)); n != 1 {
		t.Errorf("%d destination rules, want 1", n)
	}
}
