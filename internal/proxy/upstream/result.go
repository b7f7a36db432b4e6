package upstream

import "time"

// Result is what one request attempt to a host came to, as the router reports it to
// the host's outlier detector. Envoy distinguishes failures the upstream reported (an
// HTTP status) from failures seen locally (no connection, a reset, a timeout).
type Result int

// Attempt results.
const (
	// ResultResponse: the upstream answered; see the status code.
	ResultResponse Result = iota
	// ResultConnectFailed: connecting failed (local origin).
	ResultConnectFailed
	// ResultTimeout: the attempt timed out (local origin).
	ResultTimeout
	// ResultReset: the connection broke before a response (local origin).
	ResultReset
	// ResultConnectSuccess: a connection was made (local origin success).
	ResultConnectSuccess
)

// Observer receives attempt results. Implementations must be safe for concurrent use
// and cheap: they run on the request path.
type Observer interface {
	Observe(h *Host, r Result, status int, took time.Duration)
}

// Report records an attempt's result for outlier detection. status is the HTTP status
// for ResultResponse, else 0.
func (h *Host) Report(r Result, status int, took time.Duration) {
	if o := h.cluster.observer; o != nil {
		o.Observe(h, r, status, took)
	}
}
