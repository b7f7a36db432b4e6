package kubetest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
)

// FieldManager is the field manager of the objects Apply writes.
const FieldManager = "kubetest"

// Apply server-side applies each object of a YAML or JSON manifest (documents
// separated by ---), in order, and returns them as the API server stored them. Objects
// of namespaced kinds that name no namespace go to ns. A kind a CRD defined a moment
// ago is found once the API server serves it.
func (c *Cluster) Apply(t testing.TB, ns string, manifest []byte) []*unstructured.Unstructured {
	t.Helper()
	objs, err := decode(manifest)
	if err != nil {
		t.Fatal(err)
	}
	applied, err := c.apply(t.Context(), ns, objs)
	if err != nil {
		t.Fatal(err)
	}
	return applied
}

// decode splits a manifest into objects, leaving out empty documents.
func decode(manifest []byte) ([]*unstructured.Unstructured, error) {
	r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("manifest document %d: %w", i, err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, fmt.Errorf("manifest document %d: %w", i, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}

func (c *Cluster) apply(ctx context.Context, ns string, objs []*unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	var applied []*unstructured.Unstructured
	for _, obj := range objs {
		ri, err := c.resource(ctx, obj, ns)
		if err != nil {
			return applied, fmt.Errorf("%s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		got, err := ri.Apply(ctx, obj.GetName(), obj, metav1.ApplyOptions{FieldManager: FieldManager, Force: true})
		if err != nil {
			return applied, fmt.Errorf("apply %s %s: %w", obj.GetKind(), obj.GetName(), err)
		}
		applied = append(applied, got)
	}
	return applied, nil
}

// resource finds the API resource that serves obj's kind, and gives obj the namespace
// ns if the kind is namespaced and obj names none. It waits up to 10 s for a kind the
// API server does not serve yet, such as one a CRD has just defined.
func (c *Cluster) resource(ctx context.Context, obj *unstructured.Unstructured, ns string) (dynamic.ResourceInterface, error) {
	gvk := obj.GroupVersionKind()
	deadline := time.Now().Add(10 * time.Second)
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	for meta.IsNoMatchError(err) && time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(100 * time.Millisecond)
		c.mapper.Reset()
		m, err = c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	}
	if err != nil {
		return nil, err
	}
	if m.Scope.Name() != meta.RESTScopeNameNamespace {
		return c.Dynamic.Resource(m.Resource), nil
	}
	if obj.GetNamespace() == "" {
		obj.SetNamespace(ns)
	}
	return c.Dynamic.Resource(m.Resource).Namespace(obj.GetNamespace()), nil
}

// ApplyIstioCRDs installs the Istio CRDs (networking, security, telemetry, extensions)
// of the istio.io/api version in weft's go.mod, and returns once the API server serves
// them all. Later calls on the same cluster return at once.
func (c *Cluster) ApplyIstioCRDs(t testing.TB) {
	t.Helper()
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.istioCRDs {
		return
	}
	crds, err := istioCRDs()
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if _, err := c.apply(ctx, "", crds); err != nil {
		t.Fatal(err)
	}
	crd := c.Dynamic.Resource(schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"})
	for _, obj := range crds {
		Eventually(t, 30*time.Second, func() error {
			got, err := crd.Get(ctx, obj.GetName(), metav1.GetOptions{})
			if err != nil {
				return err
			}
			return established(got)
		})
	}
	c.mapper.Reset()
	c.istioCRDs = true
}

// established says why a CustomResourceDefinition is not Established yet, if it is not.
func established(crd *unstructured.Unstructured) error {
	conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
	for _, cond := range conds {
		m, _ := cond.(map[string]any)
		if m["type"] == "Established" && m["status"] == "True" {
			return nil
		}
	}
	return fmt.Errorf("CustomResourceDefinition %s is not established", crd.GetName())
}

// istioCRDs reads the CRDs from the istio.io/api module (once per test binary), which
// keeps them in kubernetes/customresourcedefinitions.gen.yaml.
var istioCRDs = sync.OnceValues(func() ([]*unstructured.Unstructured, error) {
	dir, err := moduleDir("istio.io/api")
	if err != nil {
		return nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, "kubernetes", "customresourcedefinitions.gen.yaml"))
	if err != nil {
		return nil, fmt.Errorf("istio CRDs: %w", err)
	}
	return decode(b)
})

// moduleDir returns the directory of module path, at the version weft's go.mod
// requires, downloading it if the module cache lacks it.
func moduleDir(path string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", path)
	cmd.Env = append(os.Environ(), "GOFLAGS=")
	out, err := cmd.Output()
	var m struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &m); jerr != nil && err == nil {
		err = jerr
	}
	if m.Error != "" {
		err = errors.New(m.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %w", path, err)
	}
	return m.Dir, nil
}
