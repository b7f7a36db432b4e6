package validation_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/weftmesh/weft/internal/control/config/configtest"
	"github.com/weftmesh/weft/internal/control/validation"
)

var update = flag.Bool("update", false, "rewrite golden files")

// review wraps an object (YAML or JSON) in an AdmissionReview v1 request.
func review(t *testing.T, op admissionv1.Operation, namespace, object string) []byte {
	t.Helper()
	raw, err := yaml.YAMLToJSON([]byte(object))
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name string `json:"name"`
		} `json:"metadata"`
	}
	_ = json.Unmarshal(raw, &meta)
	b, err := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "uid-1", Kind: metav1.GroupVersionKind{Kind: meta.Kind},
			Namespace: namespace, Name: meta.Metadata.Name, Operation: op, Object: runtime.RawExtension{Raw: raw}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// admit posts a review to the handler and returns the response.
func admit(t *testing.T, body []byte) *admissionv1.AdmissionResponse {
	t.Helper()
	rec := httptest.NewRecorder()
	validation.NewHandler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodPost, validation.Path, bytes.NewReader(body)))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.Response == nil {
		t.Fatalf("response %s: %v", rec.Body, err)
	}
	if out.Response.UID != "uid-1" || out.APIVersion != "admission.k8s.io/v1" || out.Kind != "AdmissionReview" {
		t.Errorf("response is not the request's AdmissionReview: %+v", out)
	}
	return out.Response
}

// TestWebhookInvalid: every invalid sample the API server could send is denied, with
// the messages weft analyze prints for the same object, less the file and document.
// The messages are in testdata/webhook.golden (go test -update rewrites it).
func TestWebhookInvalid(t *testing.T) {
	var got strings.Builder
	for _, tc := range configtest.Invalid {
		if _, err := yaml.YAMLToJSON([]byte(tc.YAML)); err != nil {
			continue // not YAML: the API server never sends it
		}
		resp := admit(t, review(t, admissionv1.Create, "default", tc.YAML))
		if resp.Allowed || resp.Result == nil || resp.Result.Code != http.StatusBadRequest {
			t.Errorf("%s: allowed, or not denied as a bad request: %+v", tc.Name, resp)
			continue
		}
		fmt.Fprintf(&got, "== %s\n%s\n", tc.Name, resp.Result.Message)

		objs, err := validation.LoadFiles([]string{validation.Stdin}, strings.NewReader(tc.YAML), "default")
		if err != nil {
			t.Fatal(err)
		}
		analyzed := validation.Join(validation.Analyze(objs, "cluster.local"))
		want := strings.ReplaceAll(strings.ReplaceAll(analyzed, " (-:1 #0)", ""), " -:1 #0)", ")")
		if resp.Result.Message != want {
			t.Errorf("%s: webhook and weft analyze differ:\nwebhook: %s\nanalyze: %s", tc.Name, resp.Result.Message, analyzed)
		}
	}
	golden(t, filepath.Join("testdata", "webhook.golden"), got.String())
}

// TestWebhookValid: the valid samples are allowed, on CREATE and UPDATE, in the
// request's namespace when they name none.
func TestWebhookValid(t *testing.T) {
	for _, tc := range configtest.Valid {
		for _, op := range []admissionv1.Operation{admissionv1.Create, admissionv1.Update} {
			if resp := admit(t, review(t, op, "default", tc.YAML)); !resp.Allowed {
				t.Errorf("%s %s: denied: %s", op, tc.Name, resp.Result.Message)
			}
		}
	}
}

// TestWebhookRequests: what is not a CREATE or UPDATE of a valid Istio kind.
func TestWebhookRequests(t *testing.T) {
	const noNamespace = "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: bad}\nspec: {hosts: [a]}\n"
	tests := []struct {
		name    string
		op      admissionv1.Operation
		ns      string
		object  string
		allowed bool
		message string
	}{
		{"delete is not checked", admissionv1.Delete, "default", noNamespace, true, ""},
		{"connect is not checked", admissionv1.Connect, "default", noNamespace, true, ""},
		{"namespace from the request", admissionv1.Create, "shop", noNamespace, false,
			"Error [IST0106] (VirtualService shop/bad) Schema validation error: spec: at least one of http, tcp or tls routes is required"},
		{"kind weft does not serve", admissionv1.Create, "default",
			"apiVersion: networking.istio.io/v1alpha3\nkind: EnvoyFilter\nmetadata: {name: ef}\nspec: {}\n", false,
			"Error [IST0106] (EnvoyFilter default/ef) Schema validation error: apiVersion: kind EnvoyFilter of networking.istio.io is not supported"},
		{"type of another group", admissionv1.Create, "default",
			"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n", false,
			"unrecognized type apps/v1 Deployment: weft validates networking.istio.io, security.istio.io and telemetry.istio.io objects"},
	}
	for _, tc := range tests {
		resp := admit(t, review(t, tc.op, tc.ns, tc.object))
		var msg string
		if resp.Result != nil {
			msg = resp.Result.Message
		}
		if resp.Allowed != tc.allowed || msg != tc.message {
			t.Errorf("%s: allowed %v, %q; want %v, %q", tc.name, resp.Allowed, msg, tc.allowed, tc.message)
		}
	}
}

// TestWebhookHTTP: requests that are not AdmissionReviews.
func TestWebhookHTTP(t *testing.T) {
	for _, tc := range []struct {
		method, body string
		want         int
	}{
		{http.MethodGet, "", http.StatusMethodNotAllowed},
		{http.MethodPost, "{", http.StatusBadRequest},
		{http.MethodPost, `{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"}`, http.StatusBadRequest},
	} {
		rec := httptest.NewRecorder()
		validation.NewHandler(nil).ServeHTTP(rec, httptest.NewRequest(tc.method, validation.Path, strings.NewReader(tc.body)))
		if rec.Code != tc.want {
			t.Errorf("%s %q: status %d, want %d", tc.method, tc.body, rec.Code, tc.want)
		}
	}
}

// golden compares got with a golden file, rewriting it with -update.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("differs from %s (-want +got):\n%s", path, diff)
	}
}
