package ads

import (
	"crypto/tls"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// ServeOption adds to what Serve serves.
type ServeOption func(*serveConfig)

type serveConfig struct {
	secure    net.Listener
	secureTLS *tls.Config
}

// WithSecureXDS also serves ADS on ln over TLS with cfg, istiod's secure xDS port
// (15012): the same server, the same streams and pushes as the plaintext listener.
// Serve closes ln.
func WithSecureXDS(ln net.Listener, cfg *tls.Config) ServeOption {
	return func(c *serveConfig) { c.secure, c.secureTLS = ln, cfg }
}

// grpcServers are the gRPC servers Serve runs: plaintext on xds, and TLS on the
// secure listener when there is one. Each carries the ADS service.
func (s *Server) grpcServers(c serveConfig, common ...grpc.ServerOption) (plain, secure *grpc.Server) {
	plain = grpc.NewServer(common...)
	s.Register(plain)
	if c.secure == nil {
		return plain, nil
	}
	secure = grpc.NewServer(append(common, grpc.Creds(credentials.NewTLS(c.secureTLS)))...)
	s.Register(secure)
	return plain, secure
}
