package fault

import (
	"strconv"
	"strings"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// sendReply answers the request locally as Envoy's sendLocalReply does: a gRPC request
// gets a trailers-only response (status 200, grpc-status, grpc-message), with grpc, or
// when grpc < 0 the status that code maps to; any other request gets code with body as
// text.
func sendReply(s *httpfilter.Stream, code, grpc int, body string, flags streaminfo.Flags, details string) {
	if !isGRPC(&s.Request) {
		s.SendLocalReply(code, body, flags, details, nil)
		return
	}
	if grpc < 0 {
		grpc = grpcStatusOf(code)
	}
	s.SendLocalReply(200, "", flags, details, func(h *header.Map) {
		h.Set("content-type", "application/grpc")
		h.Set("grpc-status", strconv.Itoa(grpc))
		h.Set("grpc-message", body)
	})
}

// isGRPC reports whether the request's content-type is application/grpc or
// application/grpc+<subtype>.
func isGRPC(h *header.Map) bool {
	ct := h.Get("content-type")
	const grpc = "application/grpc"
	return strings.HasPrefix(ct, grpc) && (len(ct) == len(grpc) || ct[len(grpc)] == '+' || ct[len(grpc)] == ';')
}

// grpcStatusOf maps an HTTP status to a gRPC status as Envoy (and the gRPC spec's
// http-grpc-status-mapping) does.
func grpcStatusOf(code int) int {
	switch code {
	case 400:
		return 13 // INTERNAL
	case 401:
		return 16 // UNAUTHENTICATED
	case 403:
		return 7 // PERMISSION_DENIED
	case 404:
		return 12 // UNIMPLEMENTED
	case 429, 502, 503, 504:
		return 14 // UNAVAILABLE
	default:
		return 2 // UNKNOWN
	}
}
