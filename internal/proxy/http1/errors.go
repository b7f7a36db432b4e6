package http1

import "fmt"

// Error is a protocol error in a message the peer sent. Status is the response code a
// server answers it with (400, 413, 431, 501, ...); Details is Envoy's
// response-code-details string ("http1.codec_error", ...).
type Error struct {
	Status  int
	Details string
	Reason  string
}

func (e *Error) Error() string {
	return fmt.Sprintf("http1: %s (%d %s)", e.Reason, e.Status, e.Details)
}

func malformed(reason string) *Error {
	return &Error{Status: 400, Details: "http1.codec_error", Reason: reason}
}

var (
	errHeadTooLarge = &Error{Status: 431, Details: "http1.headers_too_large", Reason: "header section too large"}
	errTooMany      = &Error{Status: 431, Details: "http1.too_many_headers", Reason: "too many header fields"}
	errBadTE        = &Error{Status: 501, Details: "http1.invalid_transfer_encoding", Reason: "unsupported transfer-encoding"}
	errCLandTE      = malformed("both content-length and transfer-encoding")
	errBadCL        = malformed("invalid content-length")
	errBadChunk     = malformed("invalid chunk")
)
