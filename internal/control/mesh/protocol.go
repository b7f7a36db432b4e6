package mesh

import "strings"

// ParseProtocol reads a port protocol as Istio names them, ignoring case ("http",
// "GRPC-Web", "tcp"). Empty and unknown names give Unsupported: the proxy sniffs.
func ParseProtocol(s string) Protocol {
	switch strings.ToLower(s) {
	case "http", "http_proxy":
		return HTTP
	case "http2":
		return HTTP2
	case "grpc":
		return GRPC
	case "grpc-web":
		return GRPCWeb
	case "https":
		return HTTPS
	case "tls":
		return TLS
	case "tcp":
		return TCP
	case "mongo":
		return Mongo
	case "redis":
		return Redis
	case "mysql":
		return MySQL
	case "udp":
		return UDP
	}
	return Unsupported
}

// IsTLS reports whether traffic on the port is TLS the proxy does not terminate
// (HTTPS, TLS): routed by SNI.
func (p Protocol) IsTLS() bool { return p == HTTPS || p == TLS }

// IsTCP reports whether traffic on the port is opaque TCP to the router: TCP and the
// protocols carried over it that the proxy does not parse.
func (p Protocol) IsTCP() bool {
	switch p {
	case TCP, HTTPS, TLS, Mongo, Redis, MySQL:
		return true
	}
	return false
}
