package webhook

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/weftmesh/weft/internal/control/ca"
	"github.com/weftmesh/weft/internal/inject"
)

func testConfig() *inject.Config {
	c := inject.DefaultConfig()
	c.Image = "ghcr.io/weftmesh/weft:test"
	return &c
}

// startWebhook serves the handler over TLS with a certificate from a new CA, as the
// control plane does, and returns its URL and a client trusting the CA's root.
func startWebhook(t *testing.T) (string, *http.Client) {
	t.Helper()
	root, err := ca.New(ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := root.ServingConfig([]string{"istiod.istio-system.svc", "127.0.0.1"}, time.Hour)
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
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(root.RootPEM())
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(func() {
		client.CloseIdleConnections()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return "https://" + ln.Addr().String(), client
}

func review(t *testing.T, op admissionv1.Operation, kind string, ns string, obj any) []byte {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: types.UID("uid-" + kind), Kind: metav1.GroupVersionKind{Version: "v1", Kind: kind},
			Resource: metav1.GroupVersionResource{Version: "v1", Resource: strings.ToLower(kind) + "s"}, Namespace: ns,
			Operation: op, Object: runtime.RawExtension{Raw: raw}},
	})
	return data
}

func post(t *testing.T, client *http.Client, url string, body []byte) *admissionv1.AdmissionReview {
	t.Helper()
	resp, err := client.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Kind != "AdmissionReview" || out.APIVersion != "admission.k8s.io/v1" || out.Request != nil || out.Response == nil {
		t.Fatalf("answer is not an AdmissionReview response: %+v", out)
	}
	return &out
}

func appPod(ann map[string]string) *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "web-7d9f-", Labels: map[string]string{"app": "web"}, Annotations: ann},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "web:1",
			Ports:          []corev1.ContainerPort{{ContainerPort: 8080}},
			ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(8080)}}}}}},
	}
}

// TestHandlerInjects: a pod's creation is answered with a JSON patch that, applied
// to the pod, gives what inject.Pod gives.
func TestHandlerInjects(t *testing.T) {
	url, client := startWebhook(t)
	pod := appPod(nil)
	out := post(t, client, url+Path, review(t, admissionv1.Create, "Pod", "shop", pod))
	r := out.Response
	if !r.Allowed || r.UID != "uid-Pod" || r.PatchType == nil || *r.PatchType != admissionv1.PatchTypeJSONPatch {
		t.Fatalf("response %+v", r)
	}
	raw, _ := json.Marshal(pod)
	patched, err := applyPatch(raw, r.Patch)
	if err != nil {
		t.Fatalf("patch does not apply: %v\n%s", err, r.Patch)
	}
	var got corev1.Pod
	if err := json.Unmarshal(patched, &got); err != nil {
		t.Fatal(err)
	}
	withNS := pod.DeepCopy()
	withNS.Namespace = "shop"
	want, _, err := inject.Pod(testConfig(), withNS, inject.Owner{})
	if err != nil {
		t.Fatal(err)
	}
	want.Namespace = "" // the API server sets it; the patch leaves it alone
	if d := cmp.Diff(want, &got); d != "" {
		t.Errorf("patched pod (-want +got):\n%s", d)
	}
	if strings.Contains(string(r.Patch), `"path":"/metadata/namespace"`) {
		t.Errorf("patch sets the namespace: %s", r.Patch)
	}

	// Istio's clients add /cluster/<id>/net/<network> to the path.
	if out := post(t, client, url+Path+"/cluster/Kubernetes/net/network1", review(t, admissionv1.Create, "Pod", "shop", pod)); out.Response.Patch == nil {
		t.Error("no patch at /inject/cluster/...")
	}
}

// TestHandlerDecisions: what the handler decides itself, on real HTTP. Namespace
// selection is the webhook configuration's (TestConfigurationSelects).
func TestHandlerDecisions(t *testing.T) {
	url, client := startWebhook(t)
	injected, _, _ := inject.Pod(testConfig(), appPod(nil), inject.Owner{})
	hostNet := appPod(nil)
	hostNet.Spec.HostNetwork = true
	for _, tc := range []struct {
		name    string
		body    []byte
		allowed bool
		patched bool
		message string
	}{
		{"opted out by annotation", review(t, admissionv1.Create, "Pod", "shop", appPod(map[string]string{inject.AnnotationInject: "false"})), true, false, ""},
		{"already injected", review(t, admissionv1.Create, "Pod", "shop", injected), true, false, ""},
		{"host network", review(t, admissionv1.Create, "Pod", "shop", hostNet), true, false, ""},
		{"kube-system", review(t, admissionv1.Create, "Pod", "kube-system", appPod(nil)), true, false, ""},
		{"update", review(t, admissionv1.Update, "Pod", "shop", appPod(nil)), true, false, ""},
		{"not a pod", review(t, admissionv1.Create, "ConfigMap", "shop", map[string]any{"data": map[string]string{}}), true, false, ""},
		{"bad annotation refused", review(t, admissionv1.Create, "Pod", "shop", appPod(map[string]string{inject.AnnotationProxyConfig: "{tracing: {}}"})),
			false, false, `weft sidecar injection: annotation proxy.istio.io/config: field "tracing" is not supported by weft`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, client, url+Path, tc.body).Response
			if r.Allowed != tc.allowed || (r.Patch != nil) != tc.patched {
				t.Errorf("allowed %v, patch %s; want allowed %v, patched %v", r.Allowed, r.Patch, tc.allowed, tc.patched)
			}
			if tc.message != "" && (r.Result == nil || !strings.HasPrefix(r.Result.Message, tc.message) || r.Result.Code != 400) {
				t.Errorf("result %+v, want message %q", r.Result, tc.message)
			}
		})
	}
	for _, tc := range []struct {
		method, body string
		want         int
	}{
		{http.MethodGet, "", http.StatusMethodNotAllowed},
		{http.MethodPost, "{", http.StatusBadRequest},
		{http.MethodPost, `{"kind":"AdmissionReview"}`, http.StatusBadRequest},
	} {
		req, _ := http.NewRequest(tc.method, url+Path, strings.NewReader(tc.body))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s %q: status %d, want %d", tc.method, tc.body, resp.StatusCode, tc.want)
		}
	}
}
