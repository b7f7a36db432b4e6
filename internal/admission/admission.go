package admission

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	admissionv1 "k8s.io/api/admission/v1"
)

// maxBody bounds an AdmissionReview: the API server's objects are at most 3 MiB.
const maxBody = 6 << 20

// Admit decides one admission request.
type Admit func(*admissionv1.AdmissionRequest) *admissionv1.AdmissionResponse

// Serve decodes the AdmissionReview in r, answers it with admit and writes the review
// back with the response. Requests that are not POSTed AdmissionReviews get 405 or
// 400, bodies over 6 MiB 413.
func Serve(w http.ResponseWriter, r *http.Request, admit Admit) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST an AdmissionReview", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestEntityTooLarge)
		return
	}
	var review admissionv1.AdmissionReview
	if err := json.Unmarshal(body, &review); err != nil || review.Request == nil {
		http.Error(w, fmt.Sprintf("not an AdmissionReview with a request: %v", err), http.StatusBadRequest)
		return
	}
	review.Response = admit(review.Request)
	review.Response.UID = review.Request.UID
	review.Request = nil
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(&review)
}
