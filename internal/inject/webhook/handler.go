package webhook

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/admission"
	"github.com/weftmesh/weft/internal/inject"
)

// Path is where the handler serves; Istio's clients may append
// /cluster/<id>/net/<network>, which is accepted and ignored.
const Path = "/inject"

// Handler answers AdmissionReview v1 requests for pods with the sidecar injected.
type Handler struct {
	cfg *inject.Config
	log *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns a handler injecting with cfg, which must be valid
// (inject.Config.Validate) and is not modified. log may be nil.
func NewHandler(cfg *inject.Config, log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{cfg: cfg, log: log}
}

// Mux returns a mux serving the handler at Path and below it.
func (h *Handler) Mux() *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(Path, h)
	mux.Handle(Path+"/", h)
	return mux
}

// ServeHTTP answers an AdmissionReview (package admission), injects the pod and writes the review
// back with the response. Requests that are not AdmissionReviews are 400s.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	admission.Serve(w, r, h.admit)
}

// admit injects the request's pod.
func (h *Handler) admit(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	allow := &admissionv1.AdmissionResponse{Allowed: true}
	if req.Kind.Kind != "Pod" || req.Operation != admissionv1.Create {
		return allow
	}
	pod := &corev1.Pod{}
	if err := json.Unmarshal(req.Object.Raw, pod); err != nil {
		return deny(fmt.Errorf("decoding the pod: %w", err))
	}
	if pod.Namespace == "" {
		pod.Namespace = req.Namespace
	}
	name := pod.Namespace + "/" + orString(pod.Name, pod.GenerateName)
	injected, d, err := inject.Pod(h.cfg, pod, inject.Owner{})
	if err != nil {
		h.log.Warn("injection refused", "pod", name, "error", err)
		return deny(err)
	}
	if !d.Inject {
		h.log.Debug("injection skipped", "pod", name, "reason", d.Reason)
		return allow
	}
	patch, err := createPatch(pod, injected)
	if err != nil {
		return deny(err)
	}
	h.log.Info("injected", "pod", name, "reason", d.Reason)
	pt := admissionv1.PatchTypeJSONPatch
	allow.Patch, allow.PatchType = patch, &pt
	return allow
}

func deny(err error) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{
		Status: metav1.StatusFailure, Message: "weft sidecar injection: " + err.Error(),
		Reason: metav1.StatusReasonBadRequest, Code: http.StatusBadRequest,
	}}
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
