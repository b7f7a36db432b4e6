package control_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"istio.io/client-go/pkg/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	kubeconfig "github.com/weftmesh/weft/internal/control/config/kube"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	kuberegistry "github.com/weftmesh/weft/internal/control/registry/kube"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
	"github.com/weftmesh/weft/internal/control/xdsgen"
	"github.com/weftmesh/weft/internal/kubetest"
)

// The golden comparison between the Kubernetes-based and the file-based mesh: bookinfo
// runs in a real API server (its Services and Deployments, pods marked running by
// kubetest, its Istio config as CRDs) and, side by side, as files: the same Istio YAML
// plus, for each Service, the ServiceEntry Istio would make of it and a WorkloadEntry
// per pod. Both are served through the sources weft control uses (config/kube and
// registry/kube; config/file and registry/serviceentry), and the xDS generated for a
// sidecar and the ingress gateway must be the same, with the base config and with each
// of the bookinfo networking samples applied in turn.

// meshSide is one way of serving the mesh: its stores and registries.
type meshSide struct {
	stores     []config.Store
	registries []registry.Registry
}

func (s meshSide) snapshot() *mesh.Snapshot {
	return mesh.Build("golden", s.stores, s.registries, mesh.DefaultMeshConfig())
}

// run runs the side's sources until the test ends and waits until they have synced.
func (s meshSide) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, len(s.stores)+len(s.registries))
	for _, st := range s.stores {
		go func() { done <- st.Run(ctx) }()
	}
	for _, r := range s.registries {
		go func() { done <- r.Run(ctx) }()
	}
	t.Cleanup(func() {
		cancel()
		for range len(s.stores) + len(s.registries) {
			if err := <-done; err != nil {
				t.Error(err)
			}
		}
	})
	kubetest.Eventually(t, 30*time.Second, func() error {
		for _, st := range s.stores {
			if !st.HasSynced() {
				return fmt.Errorf("store not synced")
			}
		}
		for _, r := range s.registries {
			if !r.HasSynced() {
				return fmt.Errorf("registry %s not synced", r.Name())
			}
		}
		return nil
	})
}

func TestKubeAndFilesGiveTheSameXDS(t *testing.T) {
	c := kubetest.Start(t)
	c.ApplyIstioCRDs(t)
	if _, err := c.Client.CoreV1().Namespaces().Create(t.Context(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "istio-system"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.Apply(t, "default", readFile(t, "../../examples/bookinfo/bookinfo.yaml"))
	pods := runBookinfoPods(t, c)
	base := append(docs(t, "../../examples/bookinfo/bookinfo-gateway.yaml"), docs(t, "../../examples/bookinfo/destination-rule-all.yaml")...)
	c.Apply(t, "default", joinDocs(base))

	ic, err := versioned.NewForConfig(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	kstore := kubeconfig.New(ic)
	kube := meshSide{stores: []config.Store{kstore}, registries: []registry.Registry{kuberegistry.New(c.Client), serviceentry.New(kstore)}}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "services.yaml"), serviceEntriesFor(t, c, pods))
	writeFile(t, filepath.Join(dir, "base.yaml"), joinDocs(base))
	fstore := file.New(dir, file.WithDebounce(10*time.Millisecond))
	files := meshSide{stores: []config.Store{fstore}, registries: []registry.Registry{serviceentry.New(fstore)}}
	kube.run(t)
	files.run(t)

	nodes := goldenNodes(t, pods)
	compare(t, "base", kube, files, nodes)
	samples, err := filepath.Glob("../../examples/bookinfo-networking/*.yaml")
	if err != nil || len(samples) == 0 {
		t.Fatalf("no samples: %v", err)
	}
	for _, path := range samples {
		sample := docs(t, path)
		name := filepath.Base(path)
		c.Apply(t, "default", joinDocs(sample))
		writeFile(t, filepath.Join(dir, "base.yaml"), joinDocs(without(base, sample)))
		writeFile(t, filepath.Join(dir, "sample.yaml"), joinDocs(sample))
		compare(t, name, kube, files, nodes)

		deleteObjects(t, c, without(sample, base))
		c.Apply(t, "default", joinDocs(overridden(base, sample)))
		if err := os.Remove(filepath.Join(dir, "sample.yaml")); err != nil {
			t.Fatal(err)
		}
		writeFile(t, filepath.Join(dir, "base.yaml"), joinDocs(base))
		waitSame(t, name+" removed", kube, files)
	}
}

// compare waits until both sides hold the same config and services, then compares the
// xDS of every type for every node.
func compare(t *testing.T, what string, kube, files meshSide, nodes []*mesh.Node) {
	t.Helper()
	ks, fs := waitSame(t, what, kube, files)
	types := []string{xdsgen.ListenerType, xdsgen.RouteType, xdsgen.ClusterType, xdsgen.EndpointType}
	n := 0
	defer func() { t.Logf("%s: %d resources compared", what, n) }()
	for _, node := range nodes {
		for _, typ := range types {
			kr, kerr := xdsgen.Generate(node, ks, typ)
			fr, ferr := xdsgen.Generate(node, fs, typ)
			n += len(fr)
			if fmt.Sprint(kerr) != fmt.Sprint(ferr) {
				t.Errorf("%s: %s %s: kube error %v, files error %v", what, node.Name, typ, kerr, ferr)
				continue
			}
			if ferr != nil {
				t.Logf("%s: %s %s: both fail alike: %v", what, node.Name, typ, ferr)
			}
			if len(fr) == 0 && ferr == nil && typ != xdsgen.EndpointType && node.Type == mesh.SidecarProxy {
				t.Errorf("%s: %s %s: nothing generated", what, node.Name, typ)
			}
			if diff := cmp.Diff(fr, kr, protocmp.Transform()); diff != "" {
				t.Errorf("%s: %s %s (-files +kube):\n%s", what, node.Name, typ, diff)
			}
		}
	}
}

// waitSame waits until the two sides' snapshots hold the same config objects (same
// keys, equal specs) and the same services with the same endpoints, and returns them.
func waitSame(t *testing.T, what string, kube, files meshSide) (*mesh.Snapshot, *mesh.Snapshot) {
	t.Helper()
	var ks, fs *mesh.Snapshot
	kubetest.Eventually(t, 15*time.Second, func() error {
		ks, fs = kube.snapshot(), files.snapshot()
		if err := sameConfig(ks, fs); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		if err := sameServices(ks, fs); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	})
	return ks, fs
}

// sameConfig compares the config of two snapshots, leaving out the file side's stand-ins
// for Services and pods.
func sameConfig(a, b *mesh.Snapshot) error {
	for _, kind := range config.Kinds() {
		la, lb := a.List(kind), withoutStandIns(b.List(kind))
		if len(la) != len(lb) {
			return fmt.Errorf("%d %ss from kube, %d from files", len(la), kind, len(lb))
		}
		for i := range la {
			if la[i].Key() != lb[i].Key() || !proto.Equal(la[i].Spec, lb[i].Spec) {
				return fmt.Errorf("%s from kube differs from %s from files", la[i].Key(), lb[i].Key())
			}
		}
	}
	return nil
}

func withoutStandIns(l []config.Config) []config.Config {
	var out []config.Config
	for _, c := range l {
		if c.Labels[standIn] == "" {
			out = append(out, c)
		}
	}
	return out
}

func sameServices(a, b *mesh.Snapshot) error {
	if len(a.ServiceList) != len(b.ServiceList) {
		return fmt.Errorf("%d services from kube, %d from files", len(a.ServiceList), len(b.ServiceList))
	}
	for i, s := range a.ServiceList {
		if s.Hostname != b.ServiceList[i].Hostname {
			return fmt.Errorf("service %s from kube, %s from files", s.Hostname, b.ServiceList[i].Hostname)
		}
		for _, p := range s.Ports {
			ka, kb := endpointKeys(a.EndpointsOf(s.Hostname, p.Number)), endpointKeys(b.EndpointsOf(s.Hostname, p.Number))
			if ka != kb {
				return fmt.Errorf("%s:%d: endpoints %s from kube, %s from files", s.Hostname, p.Number, ka, kb)
			}
		}
	}
	return nil
}

func endpointKeys(eps []*mesh.Endpoint) string {
	var keys []string
	for _, ep := range eps {
		keys = append(keys, fmt.Sprintf("%s:%d/%v", ep.Address, ep.Port, ep.Healthy))
	}
	sort.Strings(keys)
	return strings.Join(keys, ",")
}
