package webhook

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/weftmesh/weft/internal/control/ca"
	"github.com/weftmesh/weft/internal/inject"
	"github.com/weftmesh/weft/internal/kubetest"
)

// TestKubeAPIServer registers the webhook with a real kube-apiserver through a
// MutatingWebhookConfiguration (TLS from the control plane's CA, the root as its
// caBundle) and creates pods: in a namespace labelled istio-injection=enabled they
// come back injected, and the API server accepts the injected spec (native sidecar,
// probes, downward API); elsewhere, or opted out, they do not; a pod with an invalid
// annotation is refused with the injector's message; a Deployment's pods are
// injected as the Deployment's workload.
func TestKubeAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	ctx := t.Context()
	url, root := startWebhookForAPIServer(t)
	wh, err := Configuration("weft-sidecar-injector", "default", Target{URL: url + Path}, root)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Client.AdmissionregistrationV1().MutatingWebhookConfigurations().Create(ctx, wh, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	meshNS, plainNS := c.Namespace(t), c.Namespace(t)
	labelNamespace(t, c, meshNS, map[string]string{inject.LabelInjection: "enabled"})

	// A new webhook configuration takes about a second to be used.
	var pod *corev1.Pod
	kubetest.Eventually(t, 30*time.Second, func() error {
		p, err := c.Client.CoreV1().Pods(meshNS).Create(ctx, webPod("web", nil, nil), metav1.CreateOptions{})
		if err != nil {
			return err
		}
		if _, ok := p.Annotations[inject.AnnotationStatus]; !ok {
			c.Client.CoreV1().Pods(meshNS).Delete(ctx, p.Name, *metav1.NewDeleteOptions(0))
			return errors.New("pod created without injection")
		}
		pod = p
		return nil
	})
	checkInjected(t, pod)

	for _, tc := range []struct {
		name, ns string
		labels   map[string]string
		ann      map[string]string
	}{
		{"unlabelled namespace", plainNS, nil, nil},
		{"opted out by label", meshNS, map[string]string{inject.LabelInject: "false"}, nil},
		{"opted out by annotation", meshNS, nil, map[string]string{inject.AnnotationInject: "false"}},
	} {
		p, err := c.Client.CoreV1().Pods(tc.ns).Create(ctx, webPod("skip", tc.labels, tc.ann), metav1.CreateOptions{})
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(p.Spec.InitContainers) != 0 || p.Annotations[inject.AnnotationStatus] != "" {
			t.Errorf("%s: pod injected", tc.name)
		}
	}
	p, err := c.Client.CoreV1().Pods(plainNS).Create(ctx, webPod("optin", map[string]string{inject.LabelInject: "true"}, nil), metav1.CreateOptions{})
	if err != nil || len(p.Spec.InitContainers) != 2 {
		t.Errorf("pod opting in from an unlabelled namespace: %v, not injected", err)
	}
	_, err = c.Client.CoreV1().Pods(meshNS).Create(ctx, webPod("bad", nil, map[string]string{inject.AnnotationProxyConfig: "{tracing: {}}"}), metav1.CreateOptions{})
	if err == nil || !strings.Contains(err.Error(), `field "tracing" is not supported by weft`) {
		t.Errorf("pod with an invalid annotation: err = %v", err)
	}
	checkDeployment(t, c, meshNS)
}

// startWebhookForAPIServer serves the handler on loopback with a certificate for
// 127.0.0.1 from a new CA, and returns its https URL and the CA's root in PEM.
func startWebhookForAPIServer(t *testing.T) (string, []byte) {
	t.Helper()
	root, err := ca.New(ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := root.ServingConfig([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, NewHandler(testConfig(), nil).Mux(), tlsConfig) }()
	t.Cleanup(func() { cancel(); <-done })
	return "https://" + ln.Addr().String(), root.RootPEM()
}

func labelNamespace(t *testing.T, c *kubetest.Cluster, name string, labels map[string]string) {
	t.Helper()
	ns, err := c.Client.CoreV1().Namespaces().Get(t.Context(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if ns.Labels == nil {
		ns.Labels = map[string]string{}
	}
	for k, v := range labels {
		ns.Labels[k] = v
	}
	if _, err := c.Client.CoreV1().Namespaces().Update(t.Context(), ns, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func webPod(prefix string, labels, ann map[string]string) *corev1.Pod {
	l := map[string]string{"app": "web", "version": "v1"}
	for k, v := range labels {
		l[k] = v
	}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{GenerateName: prefix + "-", Labels: l, Annotations: ann},
		Spec:       webSpec(),
	}
}

func webSpec() corev1.PodSpec {
	return corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1",
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
		ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
			Path: "/ready", Port: intstr.FromString("http")}}},
	}}}
}

// checkInjected checks the pod as the API server stored it.
func checkInjected(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	var names []string
	for _, c := range pod.Spec.InitContainers {
		names = append(names, c.Name)
	}
	if strings.Join(names, ",") != "istio-init,istio-proxy" {
		t.Fatalf("init containers %v", names)
	}
	proxy := pod.Spec.InitContainers[1]
	if proxy.RestartPolicy == nil || *proxy.RestartPolicy != corev1.ContainerRestartPolicyAlways ||
		*proxy.SecurityContext.RunAsUser != 1337 || proxy.StartupProbe == nil || proxy.ReadinessProbe.HTTPGet.Port.IntValue() != 15021 {
		t.Errorf("istio-proxy is not a native sidecar as uid 1337 with probes on 15021: %+v", proxy)
	}
	if g := pod.Spec.Containers[0].ReadinessProbe.HTTPGet; g.Path != "/app-health/web/readyz" || g.Port.IntValue() != 15020 {
		t.Errorf("app probe not moved to the status port: %+v", g)
	}
	if pod.Labels[inject.LabelTLSMode] != "istio" || pod.Annotations[inject.AnnotationRevision] != "default" {
		t.Errorf("labels %v, annotations %v", pod.Labels, pod.Annotations)
	}
}

// checkDeployment: the controller's pods go through the webhook too, and the proxy
// is told the Deployment is its workload.
func checkDeployment(t *testing.T, c *kubetest.Cluster, ns string) {
	t.Helper()
	one := int32(1)
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "reviews-v2"},
		Spec: appsv1.DeploymentSpec{Replicas: &one,
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "reviews"}},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "reviews"}}, Spec: webSpec()}},
	}
	if _, err := c.Client.AppsV1().Deployments(ns).Create(t.Context(), d, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, 30*time.Second, func() error {
		pods, err := c.Client.CoreV1().Pods(ns).List(t.Context(), metav1.ListOptions{LabelSelector: "app=reviews"})
		if err != nil || len(pods.Items) == 0 {
			return fmt.Errorf("no pod of the deployment yet (%v)", err)
		}
		p := pods.Items[0]
		for _, c := range p.Spec.InitContainers {
			for _, e := range c.Env {
				if e.Name == "ISTIO_META_WORKLOAD_NAME" && e.Value == "reviews-v2" {
					return nil
				}
			}
		}
		return fmt.Errorf("pod %s: not injected as workload reviews-v2", p.Name)
	})
}
