package httpfilter

import (
	"testing"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// TestGRPCMessage: grpc-message is percent-encoded as the gRPC spec says, printable
// ASCII other than '%' left as it is.
func TestGRPCMessage(t *testing.T) {
	for in, want := range map[string]string{
		"no healthy upstream": "no healthy upstream",
		"100% sure":           "100%25 sure",
		"línea\n":             "l%C3%ADnea%0A",
	} {
		if got := grpcMessage(in); got != want {
			t.Errorf("grpcMessage(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestIsGRPC: gRPC calls are application/grpc and application/grpc+<subtype>, not
// gRPC-Web.
func TestIsGRPC(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/grpc": true, "application/grpc+proto": true, "application/grpc;charset=utf-8": true,
		"application/grpc-web": false, "application/grpc-web+proto": false, "application/json": false, "": false,
	} {
		h := header.Of("content-type", ct)
		if got := IsGRPC(&h); got != want {
			t.Errorf("IsGRPC(%q) = %v, want %v", ct, got, want)
		}
	}
}
