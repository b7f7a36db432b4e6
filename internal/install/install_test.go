package install

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/leader"
	"github.com/weftmesh/weft/internal/inject"
	"github.com/weftmesh/weft/internal/proxy"
)

// manifest is a decoded weft install manifest: CRDs as unstructured objects, every
// other document strictly decoded into its Kubernetes type (an unknown field fails).
type manifest struct {
	kinds []string // "Kind name" in order
	crds  map[string]*unstructured.Unstructured
	typed map[string]runtime.Object // by "Kind name"
}

func decodeManifest(t *testing.T, m []byte) *manifest {
	t.Helper()
	strict := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	out := &manifest{crds: map[string]*unstructured.Unstructured{}, typed: map[string]runtime.Object{}}
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(m)))
	for i := 0; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		u := &unstructured.Unstructured{}
		if err := utilyaml.Unmarshal(doc, &u.Object); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if _, ok := resources[u.GroupVersionKind()]; !ok {
			t.Errorf("document %d: %s has no API resource in install's table", i, u.GroupVersionKind())
		}
		key := u.GetKind() + " " + u.GetName()
		out.kinds = append(out.kinds, key)
		if u.GetKind() == "CustomResourceDefinition" {
			out.crds[u.GetName()] = u
			continue
		}
		obj, _, err := strict.Decode(doc, nil, nil)
		if err != nil {
			t.Fatalf("document %d (%s): %v", i, key, err)
		}
		out.typed[key] = obj
	}
}

func get[T runtime.Object](t *testing.T, m *manifest, kind, name string) T {
	t.Helper()
	obj, ok := m.typed[kind+" "+name].(T)
	if !ok {
		t.Fatalf("no %s %s in the manifest (have %v)", kind, name, m.kinds)
	}
	return obj
}

func TestManifest(t *testing.T) {
	b, err := Manifest(Options{Namespace: "weft-system", Image: "registry.example/weft:1.0", Replicas: 3, Version: "1.0"})
	if err != nil {
		t.Fatal(err)
	}
	m := decodeManifest(t, b)
	var order []string
	for _, k := range m.kinds {
		if !strings.HasPrefix(k, "CustomResourceDefinition ") {
			order = append(order, k)
		}
	}
	want := []string{"Namespace weft-system",
		"ServiceAccount istiod",
		"ClusterRole istiod-clusterrole-weft-system", "ClusterRoleBinding istiod-clusterrole-weft-system",
		"Role istiod", "RoleBinding istiod",
		"ConfigMap istio-sidecar-injector", "Deployment istiod", "Service istiod",
		"MutatingWebhookConfiguration istio-sidecar-injector", "ValidatingWebhookConfiguration istio-validator-weft-system",
		"ServiceAccount istio-ingressgateway-service-account", "Deployment istio-ingressgateway", "Service istio-ingressgateway"}
	if diff := cmp.Diff(want, order); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	if m.kinds[0] != "Namespace weft-system" || !strings.HasPrefix(m.kinds[1], "CustomResourceDefinition ") {
		t.Errorf("the namespace, then the CRDs, come first: %v", m.kinds[:2])
	}
	for key, obj := range m.typed {
		if ns := obj.(interface{ GetNamespace() string }).GetNamespace(); ns != "" && ns != "weft-system" {
			t.Errorf("%s is in namespace %s", key, ns)
		}
	}
	t.Run("CRDs", func(t *testing.T) { testCRDs(t, m) })
	t.Run("control plane", func(t *testing.T) { testControlPlane(t, m) })
	t.Run("RBAC", func(t *testing.T) { testRBAC(t, m) })
	t.Run("webhooks", func(t *testing.T) { testWebhooks(t, m) })
	t.Run("gateway", func(t *testing.T) { testGateway(t, m) })
}

// testCRDs: every kind the control plane reads has its CRD, served at v1 with the
// status subresource the status writer writes.
func testCRDs(t *testing.T, m *manifest) {
	if len(m.crds) != 15 {
		t.Errorf("%d CRDs, want Istio's 15", len(m.crds))
	}
	for _, s := range config.Schemas() {
		name := plural(s.Kind) + "." + s.Group
		crd, ok := m.crds[name]
		if !ok {
			t.Errorf("no CRD %s", name)
			continue
		}
		versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
		var served []string
		for _, v := range versions {
			v := v.(map[string]any)
			if v["served"] == true {
				served = append(served, v["name"].(string))
			}
			if _, ok := v["subresources"].(map[string]any)["status"]; !ok {
				t.Errorf("CRD %s %s has no status subresource", name, v["name"])
			}
		}
		if !slices.Contains(served, "v1") {
			t.Errorf("CRD %s serves %v, not v1", name, served)
		}
	}
}

// plural is the resource name of a kind: the validation webhook's rules are checked
// against the CRDs through it.
func plural(k config.Kind) string {
	s := strings.ToLower(string(k))
	if strings.HasSuffix(s, "y") && !strings.HasSuffix(s, "ay") {
		return strings.TrimSuffix(s, "y") + "ies"
	}
	return s + "s"
}

func testControlPlane(t *testing.T, m *manifest) {
	d := get[*appsv1.Deployment](t, m, "Deployment", "istiod")
	if *d.Spec.Replicas != 3 {
		t.Errorf("replicas %d, want 3", *d.Spec.Replicas)
	}
	pod := d.Spec.Template
	if pod.Labels["app"] != "istiod" || pod.Labels["istio"] != "pilot" || pod.Annotations["sidecar.istio.io/inject"] != "false" {
		t.Errorf("pod template labels %v, annotations %v", pod.Labels, pod.Annotations)
	}
	if pod.Spec.ServiceAccountName != "istiod" {
		t.Errorf("service account %q", pod.Spec.ServiceAccountName)
	}
	c := pod.Spec.Containers[0]
	if c.Image != "registry.example/weft:1.0" || c.Command[0] != "weft" || c.Args[0] != "control" {
		t.Errorf("container runs %s %v %v", c.Image, c.Command, c.Args)
	}
	args := strings.Join(c.Args, " ")
	for _, want := range []string{"--kube", "--xds-address :15010", "--secure-xds-address :15012", "--monitoring-address :15014",
		"--webhook-address :15017", "--tls-hosts istiod.weft-system.svc", "--control-namespace weft-system", "--ca-secret istio-ca-secret",
		"--webhook-config-name istio-sidecar-injector", "--validating-webhook-config-name istio-validator-weft-system",
		"--inject-config /etc/weft/inject/config.yaml"} {
		if !strings.Contains(args, want) {
			t.Errorf("args %q lack %q", args, want)
		}
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Port.IntValue() != 15014 {
		t.Errorf("readiness probe %+v", p)
	}
	if mnt := c.VolumeMounts[0]; mnt.MountPath+"/config.yaml" != injectConfigPath || pod.Spec.Volumes[0].ConfigMap.Name != "istio-sidecar-injector" {
		t.Errorf("injector config mounted at %s from %+v", mnt.MountPath, pod.Spec.Volumes[0])
	}
	cm := get[*corev1.ConfigMap](t, m, "ConfigMap", "istio-sidecar-injector")
	cfg, err := inject.LoadConfig([]byte(cm.Data["config.yaml"]))
	if err != nil {
		t.Fatalf("injector config: %v", err)
	}
	if cfg.Image != "registry.example/weft:1.0" || cfg.DefaultConfig.DiscoveryAddress != "istiod.weft-system.svc:15012" {
		t.Errorf("injector config image %q, discovery %q", cfg.Image, cfg.DefaultConfig.DiscoveryAddress)
	}

	svc := get[*corev1.Service](t, m, "Service", "istiod")
	var ports []string
	for _, p := range svc.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%s %d→%s", p.Name, p.Port, p.TargetPort.String()))
	}
	wantPorts := []string{"grpc-xds 15010→15010", "https-dns 15012→15012", "http-monitoring 15014→15014", "https-webhook 443→15017"}
	var containerPorts []string
	for _, p := range c.Ports {
		containerPorts = append(containerPorts, fmt.Sprint(p.ContainerPort))
	}
	if diff := cmp.Diff([]string{"15010", "15012", "15014", "15017"}, containerPorts); diff != "" {
		t.Errorf("istiod container ports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantPorts, ports); diff != "" {
		t.Errorf("istiod Service ports (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(d.Spec.Selector.MatchLabels, svc.Spec.Selector); diff != "" {
		t.Errorf("the Service does not select the Deployment's pods:\n%s", diff)
	}
}

// testRBAC: the control plane may read what weft control watches, write the Istio
// objects' status, patch the webhook configurations, record events, and in its
// namespace hold Leases and keep its CA Secret.
func testRBAC(t *testing.T, m *manifest) {
	cr := get[*rbacv1.ClusterRole](t, m, "ClusterRole", "istiod-clusterrole-weft-system")
	role := get[*rbacv1.Role](t, m, "Role", "istiod")
	cases := []struct {
		rules           []rbacv1.PolicyRule
		group, resource string
		verbs           []string
	}{
		{cr.Rules, "", "services", []string{"list", "watch"}},
		{cr.Rules, "", "pods", []string{"list", "watch"}},
		{cr.Rules, "", "nodes", []string{"list", "watch"}},
		{cr.Rules, "", "namespaces", []string{"list", "watch"}},
		{cr.Rules, "discovery.k8s.io", "endpointslices", []string{"list", "watch"}},
		{cr.Rules, "networking.istio.io", "virtualservices", []string{"list", "watch"}},
		{cr.Rules, "security.istio.io", "authorizationpolicies/status", []string{"get", "patch"}},
		{cr.Rules, "telemetry.istio.io", "telemetries", []string{"list", "watch"}},
		{cr.Rules, "admissionregistration.k8s.io", "mutatingwebhookconfigurations", []string{"get", "watch", "update"}},
		{cr.Rules, "admissionregistration.k8s.io", "validatingwebhookconfigurations", []string{"get", "watch", "update"}},
		{cr.Rules, "", "events", []string{"create"}},
		{cr.Rules, "", "configmaps", []string{"list", "watch", "create", "update"}},
		{role.Rules, "coordination.k8s.io", "leases", []string{"get", "create", "update", "watch"}},
		{role.Rules, "", "secrets", []string{"create", "get"}},
	}
	for _, c := range cases {
		for _, v := range c.verbs {
			if !allows(c.rules, c.group, c.resource, v) {
				t.Errorf("%s %s.%s is not allowed", v, c.resource, c.group)
			}
		}
	}
	if allows(cr.Rules, "", "secrets", "get") {
		t.Error("the ClusterRole lets the control plane read Secrets cluster-wide")
	}
	crb := get[*rbacv1.ClusterRoleBinding](t, m, "ClusterRoleBinding", "istiod-clusterrole-weft-system")
	rb := get[*rbacv1.RoleBinding](t, m, "RoleBinding", "istiod")
	for _, s := range [][]rbacv1.Subject{crb.Subjects, rb.Subjects} {
		if len(s) != 1 || s[0].Name != "istiod" || s[0].Namespace != "weft-system" {
			t.Errorf("bound to %+v", s)
		}
	}
}

func allows(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	sub := strings.Contains(resource, "/")
	for _, r := range rules {
		if !slices.Contains(r.APIGroups, group) || !slices.Contains(r.Verbs, verb) {
			continue
		}
		if slices.Contains(r.Resources, resource) || !sub && slices.Contains(r.Resources, "*") ||
			sub && slices.Contains(r.Resources, "*/"+strings.SplitN(resource, "/", 2)[1]) {
			return true
		}
	}
	return false
}

func testWebhooks(t *testing.T, m *manifest) {
	mw := get[*admissionregistrationv1.MutatingWebhookConfiguration](t, m, "MutatingWebhookConfiguration", "istio-sidecar-injector")
	if len(mw.Webhooks) != 4 {
		t.Errorf("%d injection webhooks, want Istio's 4", len(mw.Webhooks))
	}
	for _, h := range mw.Webhooks {
		s := h.ClientConfig.Service
		if s == nil || s.Name != "istiod" || s.Namespace != "weft-system" || *s.Port != 443 || *s.Path != "/inject" {
			t.Errorf("webhook %s calls %+v", h.Name, s)
		}
		if len(h.ClientConfig.CABundle) != 0 {
			t.Errorf("webhook %s has a caBundle; the leader sets it", h.Name)
		}
	}
	vw := get[*admissionregistrationv1.ValidatingWebhookConfiguration](t, m, "ValidatingWebhookConfiguration", "istio-validator-weft-system")
	if len(vw.Webhooks) != 1 {
		t.Fatalf("%d validation webhooks", len(vw.Webhooks))
	}
	h := vw.Webhooks[0]
	if s := h.ClientConfig.Service; s == nil || s.Name != "istiod" || s.Namespace != "weft-system" || *s.Port != 443 || *s.Path != "/validate" {
		t.Errorf("validation webhook calls %+v", s)
	}
	if *h.FailurePolicy != admissionregistrationv1.Fail || *h.SideEffects != admissionregistrationv1.SideEffectClassNone {
		t.Errorf("failure policy %s, side effects %s", *h.FailurePolicy, *h.SideEffects)
	}
	// Exactly the kinds the control plane reads, each with its CRD.
	var got, want []string
	for _, r := range h.Rules {
		if !slices.Equal(r.Operations, []admissionregistrationv1.OperationType{"CREATE", "UPDATE"}) {
			t.Errorf("rule %v: operations %v", r.APIGroups, r.Operations)
		}
		for _, res := range r.Resources {
			got = append(got, res+"."+r.APIGroups[0])
		}
	}
	for _, s := range config.Schemas() {
		want = append(want, plural(s.Kind)+"."+s.Group)
	}
	slices.Sort(got)
	slices.Sort(want)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validated resources (-want +got):\n%s", diff)
	}
	for _, r := range got {
		if m.crds[r] == nil {
			t.Errorf("validated resource %s has no CRD", r)
		}
	}
}

func testGateway(t *testing.T, m *manifest) {
	d := get[*appsv1.Deployment](t, m, "Deployment", "istio-ingressgateway")
	pod := d.Spec.Template
	if pod.Labels["istio"] != "ingressgateway" || pod.Labels["app"] != "istio-ingressgateway" {
		t.Errorf("gateway pod labels %v", pod.Labels)
	}
	c := pod.Spec.Containers[0]
	args := strings.Join(c.Args, " ")
	if !strings.HasPrefix(args, "proxy --type router --xds istiod.weft-system.svc:15012") || c.Image != "registry.example/weft:1.0" {
		t.Errorf("gateway runs %s %s", c.Image, args)
	}
	env := map[string]bool{}
	for _, e := range c.Env {
		env[e.Name] = true
	}
	for _, name := range []string{"POD_NAME", "POD_NAMESPACE", "INSTANCE_IP", "SERVICE_ACCOUNT"} {
		if !env[name] {
			t.Errorf("gateway has no %s: its node ID comes from the environment", name)
		}
	}
	if c.VolumeMounts[0].MountPath != "/etc/istio/pod" || pod.Spec.Volumes[0].DownwardAPI == nil {
		t.Errorf("gateway labels not mounted: %+v %+v", c.VolumeMounts, pod.Spec.Volumes)
	}
	// Secure xDS: the root the leader publishes in the namespace, where weft proxy
	// looks for it.
	if c.VolumeMounts[1].MountPath+"/root-cert.pem" != proxy.DefaultXDSRootCert || c.VolumeMounts[1].Name != pod.Spec.Volumes[1].Name ||
		pod.Spec.Volumes[1].ConfigMap == nil || pod.Spec.Volumes[1].ConfigMap.Name != leader.RootCertConfigMap {
		t.Errorf("gateway CA root not mounted: %+v %+v", c.VolumeMounts, pod.Spec.Volumes)
	}
	svc := get[*corev1.Service](t, m, "Service", "istio-ingressgateway")
	if svc.Spec.Selector["istio"] != "ingressgateway" || svc.Spec.Type != corev1.ServiceTypeLoadBalancer {
		t.Errorf("gateway Service %+v", svc.Spec)
	}
	targets := map[int32]int{}
	for _, p := range svc.Spec.Ports {
		targets[p.Port] = p.TargetPort.IntValue()
	}
	if targets[80] != 8080 || targets[443] != 8443 || targets[15021] != 15021 {
		t.Errorf("gateway Service ports %v", targets)
	}
}

func TestOptions(t *testing.T) {
	objs, err := Objects(Options{NoGateway: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range objs {
		if strings.Contains(o.GetName(), "ingressgateway") {
			t.Errorf("--no-gateway made %s %s", o.GetKind(), o.GetName())
		}
		if o.GetKind() == "Deployment" {
			if r, _, _ := unstructured.NestedInt64(o.Object, "spec", "replicas"); r != 2 {
				t.Errorf("default replicas %d, want 2", r)
			}
			if img, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers"); img[0].(map[string]any)["image"] != "ghcr.io/weftmesh/weft:dev" {
				t.Errorf("default image %v", img[0].(map[string]any)["image"])
			}
		}
		if o.GetNamespace() != "" && o.GetNamespace() != "istio-system" {
			t.Errorf("%s %s in %s, want istio-system", o.GetKind(), o.GetName(), o.GetNamespace())
		}
	}
	if _, err := Objects(Options{Replicas: -1}); err == nil {
		t.Error("negative replicas accepted")
	}
}
