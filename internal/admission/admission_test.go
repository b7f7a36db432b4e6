package admission

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	admissionv1 "k8s.io/api/admission/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestServe(t *testing.T) {
	var got *admissionv1.AdmissionRequest
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		Serve(w, r, func(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
			got = req
			return &admissionv1.AdmissionResponse{Allowed: req.Name == "ok"}
		})
	})
	for _, tc := range []struct {
		method, body string
		status       int
	}{
		{"GET", "", http.StatusMethodNotAllowed},
		{"POST", "{not json", http.StatusBadRequest},
		{"POST", `{"kind":"AdmissionReview"}`, http.StatusBadRequest}, // no request
		{"POST", strings.Repeat(" ", maxBody+1), http.StatusRequestEntityTooLarge},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, "/", strings.NewReader(tc.body)))
		if rec.Code != tc.status {
			t.Errorf("%s %.20q: %d, want %d", tc.method, tc.body, rec.Code, tc.status)
		}
	}
	review := admissionv1.AdmissionReview{Request: &admissionv1.AdmissionRequest{UID: types.UID("u-1"), Name: "ok"}}
	review.APIVersion, review.Kind = "admission.k8s.io/v1", "AdmissionReview"
	body, _ := json.Marshal(review)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("POST", "/", strings.NewReader(string(body))))
	var out admissionv1.AdmissionReview
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatal(err)
	}
	if got == nil || got.Name != "ok" || out.Response == nil || !out.Response.Allowed || out.Response.UID != "u-1" || out.Request != nil {
		t.Errorf("answered %s: %+v (handler saw %+v)", rec.Body.String(), out.Response, got)
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
}
