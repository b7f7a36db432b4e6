package cli

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/weftmesh/weft/internal/install"
	"github.com/weftmesh/weft/internal/kubetest"
)

// TestInstallRunsWeft: the Deployments run weft with flags weft has.
func TestInstallRunsWeft(t *testing.T) {
	objs, err := install.Objects(install.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cmds := map[string]func() *cobra.Command{"control": newControlCmd, "proxy": newProxyCmd}
	n := 0
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			continue
		}
		containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			var args []string
			for _, a := range c.(map[string]any)["args"].([]any) {
				args = append(args, a.(string))
			}
			newCmd, ok := cmds[args[0]]
			if !ok {
				t.Errorf("Deployment %s runs weft %s", o.GetName(), args[0])
				continue
			}
			if err := newCmd().ParseFlags(args[1:]); err != nil {
				t.Errorf("Deployment %s: weft %v: %v", o.GetName(), args, err)
			}
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d containers checked, want the control plane's and the gateway's", n)
	}
}

// TestInstallKube: weft install --kubeconfig creates every object in a real API
// server, with the CRDs established and the Deployments' pods made; a second install
// changes nothing; weft uninstall removes everything.
func TestInstallKube(t *testing.T) {
	c := kubetest.Start(t)
	const ns = "weft-install-e2e"
	objs, err := install.Objects(install.Options{Namespace: ns, Version: Version})
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "install", "--kubeconfig", c.Kubeconfig, "-n", ns)
	if err != nil {
		t.Fatalf("weft install: %v\n%s", err, out)
	}
	reported(t, out, objs, "created")
	for _, o := range objs {
		got, err := resource(c, o).Get(t.Context(), o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Errorf("%s %s: %v", o.GetKind(), o.GetName(), err)
			continue
		}
		if o.GetKind() == "CustomResourceDefinition" && !install.Established(got) {
			t.Errorf("CRD %s not established after weft install", o.GetName())
		}
	}
	kubetest.Eventually(t, 10*time.Second, func() error {
		pods, err := c.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=istiod"})
		if err != nil || len(pods.Items) != 2 {
			return fmt.Errorf("istiod pods: %v, %v", len(pods.Items), err)
		}
		return nil
	})

	out, err = run(t, "install", "--kubeconfig", c.Kubeconfig, "-n", ns)
	if err != nil {
		t.Fatalf("weft install again: %v\n%s", err, out)
	}
	reported(t, out, objs, "unchanged")

	out, err = run(t, "uninstall", "--kubeconfig", c.Kubeconfig, "-n", ns)
	if err != nil {
		t.Fatalf("weft uninstall: %v\n%s", err, out)
	}
	if !strings.Contains(out, "secret/istio-ca-secret not found\n") || !strings.Contains(out, "namespace/"+ns+" deleted\n") {
		t.Errorf("weft uninstall said:\n%s", out)
	}
	// A CustomResourceDefinition goes only once the API server has cleaned up its
	// objects (a finalizer): on a loaded machine that has taken over 30 s.
	for _, o := range objs {
		kubetest.Eventually(t, 2*time.Minute, func() error {
			got, err := resource(c, o).Get(t.Context(), o.GetName(), metav1.GetOptions{})
			switch {
			case apierrors.IsNotFound(err):
				return nil
			case err != nil:
				return err
			case o.GetKind() == "Namespace" && got.GetDeletionTimestamp() != nil:
				return nil // terminating: pods never finish deleting without a kubelet
			}
			return fmt.Errorf("%s %s still there", o.GetKind(), o.GetName())
		})
	}
}

// reported checks that weft install said what for every object, in order.
func reported(t *testing.T, out string, objs []*unstructured.Unstructured, what string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != len(objs) {
		t.Fatalf("%d lines for %d objects:\n%s", len(lines), len(objs), out)
	}
	for i, o := range objs {
		if !strings.HasSuffix(lines[i], "/"+o.GetName()+" "+what) {
			t.Errorf("%s %s: %q, want %s", o.GetKind(), o.GetName(), lines[i], what)
		}
	}
}

func resource(c *kubetest.Cluster, o *unstructured.Unstructured) dynamic.ResourceInterface {
	ri, err := install.ResourceClient(c.Dynamic, o)
	if err != nil {
		panic(err)
	}
	return ri
}

// TestInstallPrints: without --kubeconfig, weft install prints the manifest of the
// options given.
func TestInstallPrints(t *testing.T) {
	out, err := run(t, "install", "-n", "mesh", "--image", "registry.example/weft:1.0", "--replicas", "3", "--no-gateway")
	if err != nil {
		t.Fatal(err)
	}
	want, err := install.Manifest(install.Options{Namespace: "mesh", Image: "registry.example/weft:1.0", Replicas: 3,
		NoGateway: true, Version: Version})
	if err != nil {
		t.Fatal(err)
	}
	if out != string(want) {
		t.Error("weft install printed something else than the manifest of its flags")
	}
	for _, s := range []string{"\n  name: mesh\n", "image: registry.example/weft:1.0\n", "replicas: 3\n"} {
		if !strings.Contains(out, s) {
			t.Errorf("manifest lacks %q", s)
		}
	}
	if strings.Contains(out, "istio-ingressgateway") {
		t.Error("--no-gateway printed the gateway")
	}
}
