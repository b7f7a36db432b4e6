package validation

import (
	"fmt"
	"log/slog"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/admission"
	"github.com/weftmesh/weft/internal/control/config/file"
)

// Path is where the validating webhook serves, as istiod's does.
const Path = "/validate"

// Handler is the validating admission webhook for Istio config: it answers
// AdmissionReview v1 requests creating or updating objects of networking.istio.io,
// security.istio.io and telemetry.istio.io, allowing valid objects and denying the
// others with the messages weft analyze prints for them (ObjectMessages).
type Handler struct {
	log *slog.Logger
}

var _ http.Handler = (*Handler)(nil)

// NewHandler returns the webhook handler; log may be nil.
func NewHandler(log *slog.Logger) *Handler {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Handler{log: log}
}

// ServeHTTP answers an AdmissionReview (package admission) and writes it back with the response.
// Requests that are not AdmissionReviews are 400s.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	admission.Serve(w, r, h.admit)
}

// admit validates the request's object. Operations other than CREATE and UPDATE are
// allowed, as istiod allows them.
func (h *Handler) admit(req *admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse {
	if req.Operation != admissionv1.Create && req.Operation != admissionv1.Update {
		return &admissionv1.AdmissionResponse{Allowed: true}
	}
	name := req.Kind.Kind + " " + req.Namespace + "/" + req.Name
	msgs, err := ObjectMessages(req.Object.Raw, req.Namespace)
	switch {
	case err != nil:
		h.log.Info("config denied", "object", name, "error", err)
		return deny(err.Error())
	case len(msgs) > 0:
		text := Join(msgs)
		h.log.Info("config denied", "object", name, "messages", text)
		return deny(text)
	}
	h.log.Debug("config allowed", "object", name)
	return &admissionv1.AdmissionResponse{Allowed: true}
}

// ObjectMessages validates one object, given as JSON (or YAML) as the API server
// sends it, with the file store's decoder and config.Validate, and returns its IST0106
// messages, which are what weft analyze prints for it without the file: none for a
// valid object. An object of a kind outside Istio's API groups is an error, as
// istiod's webhook denies types it does not recognize.
func ObjectMessages(raw []byte, namespace string) ([]Message, error) {
	docs := file.ParseFile("", raw, namespace)
	if len(docs) != 1 {
		return nil, fmt.Errorf("want one object, got %d documents", len(docs))
	}
	switch d := docs[0]; {
	case d.Err != nil:
		return SchemaMessages(d.Err), nil
	case d.Other != nil:
		return nil, fmt.Errorf("unrecognized type %s %s: weft validates networking.istio.io, security.istio.io and telemetry.istio.io objects",
			d.Other.APIVersion, d.Other.Kind)
	}
	return nil, nil
}

// deny refuses the object with message, which the API server shows the client after
// `admission webhook "..." denied the request: `.
func deny(message string) *admissionv1.AdmissionResponse {
	return &admissionv1.AdmissionResponse{Result: &metav1.Status{
		Status: metav1.StatusFailure, Message: message, Reason: metav1.StatusReasonBadRequest, Code: http.StatusBadRequest,
	}}
}
