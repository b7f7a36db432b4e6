// Package admission serves Kubernetes admission webhooks (AdmissionReview v1 over HTTP):
// it decodes the review, asks a handler for the response and writes the review back.
// The sidecar injector (internal/inject/webhook) and the validating webhook
// (internal/control/validation) share it.
package admission
