package validation_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/validation"
)

// TestAnalyzeGolden analyzes testdata/analyze: schema errors of invalid objects
// (IST0106, one per field), and gateways and subsets that are not there (IST0101),
// object by object in file order; the items of a List are objects of its document. The output is in testdata/analyze.golden.
func TestAnalyzeGolden(t *testing.T) {
	objs, err := validation.LoadFiles([]string{filepath.Join("testdata", "analyze")}, nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	golden(t, filepath.Join("testdata", "analyze.golden"), validation.Join(validation.Analyze(objs, "cluster.local"))+"\n")
}

// TestAnalyzeBookinfo: Istio's bookinfo networking samples, analyzed together, have
// no problems: every gateway and subset they name is among them.
func TestAnalyzeBookinfo(t *testing.T) {
	objs, err := validation.LoadFiles([]string{bookinfoDir(t)}, nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) < 25 {
		t.Fatalf("only %d objects loaded", len(objs))
	}
	if msgs := validation.Analyze(objs, "cluster.local"); len(msgs) > 0 {
		t.Errorf("messages for bookinfo:\n%s", validation.Join(msgs))
	}
}

// TestMerge: a file's object replaces the cluster's of the same kind, namespace and
// name, valid or not; the cluster's others are kept.
func TestMerge(t *testing.T) {
	obj := func(kind config.Kind, name string, invalid bool) validation.Object {
		if invalid {
			return validation.Object{Err: &config.ValidationError{Kind: kind, Namespace: "default", Name: name}}
		}
		return validation.Object{Config: &config.Config{Kind: kind, Namespace: "default", Name: name}, File: "f.yaml"}
	}
	files := []validation.Object{obj(config.Gateway, "a", false), obj(config.VirtualService, "b", true)}
	cluster := []validation.Object{obj(config.Gateway, "a", true), obj(config.VirtualService, "b", false), obj(config.VirtualService, "c", false)}
	got := validation.Merge(files, cluster)
	want := []validation.Object{files[0], files[1], cluster[2]}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestLoadFiles: directories are walked for config files, hidden ones skipped;
// stdin is "-"; a missing path is an error.
func TestLoadFiles(t *testing.T) {
	dir := t.TempDir()
	gw := "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata: {name: gw}\nspec:\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: [\"*\"]\n"
	for name, content := range map[string]string{"a/gw.yaml": gw, "a/.hidden/x.yaml": gw, "a/b/gw.yml": gw, "a/b/notes.txt": gw, ".h.yaml": gw} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := validation.LoadFiles([]string{filepath.Join(dir, "a"), validation.Stdin}, strings.NewReader(gw), "ns")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.File+" "+o.Config.Namespace)
	}
	want := []string{filepath.Join(dir, "a", "b", "gw.yml") + " ns", filepath.Join(dir, "a", "gw.yaml") + " ns", "- ns"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if _, err := validation.LoadFiles([]string{filepath.Join(dir, "missing")}, nil, "ns"); err == nil {
		t.Error("missing path: no error")
	}
}

// bookinfoDir finds ../shared/conformance/istio-bookinfo-networking by walking up from
// the test's working directory, and fails the test if it is missing.
func bookinfoDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		candidate := filepath.Join(dir, "..", "shared", "conformance", "istio-bookinfo-networking")
		if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("../shared/conformance/istio-bookinfo-networking not found above the working directory")
		}
		dir = parent
	}
}
