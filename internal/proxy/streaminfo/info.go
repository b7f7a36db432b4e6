package streaminfo

import (
	"crypto/x509"
	"net/netip"
	"time"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// Info is what the proxy knows about one request (HTTP) or connection (TCP). The
// goroutine serving the stream owns it; it is read by access logs after the stream ends.
type Info struct {
	// Start is the wall-clock time the stream began; Since measures from it.
	Start time.Time

	// Protocol is "HTTP/1.0", "HTTP/1.1", "HTTP/2" or "" for TCP.
	Protocol string

	// ResponseCode is the status sent downstream (0 when none was sent).
	ResponseCode int
	// ResponseCodeDetails says why, in Envoy's vocabulary ("via_upstream",
	// "route_not_found", ...).
	ResponseCodeDetails string
	// ConnectionTerminationDetails says why a connection was closed by the proxy.
	ConnectionTerminationDetails string
	Flags                        Flags

	// Body bytes received from and sent to downstream.
	BytesReceived int64
	BytesSent     int64
	// Body bytes sent to and received from upstream.
	UpstreamBytesSent     int64
	UpstreamBytesReceived int64

	// Durations from Start; zero means "did not happen" and prints as "-".
	LastDownstreamRxByte  time.Duration
	FirstUpstreamTxByte   time.Duration
	LastUpstreamTxByte    time.Duration
	FirstUpstreamRxByte   time.Duration
	LastUpstreamRxByte    time.Duration
	FirstDownstreamTxByte time.Duration
	LastDownstreamTxByte  time.Duration
	// End is the total duration, set when the stream finishes.
	End time.Duration

	Downstream Downstream

	// UpstreamCluster is the name of the cluster the router picked.
	UpstreamCluster string
	// UpstreamHost is the address of the host the request went to.
	UpstreamHost netip.AddrPort
	// UpstreamHostname is the host's hostname from config, if any.
	UpstreamHostname string
	// UpstreamLocal is the local address of the upstream connection.
	UpstreamLocal netip.AddrPort
	// UpstreamTransportFailureReason explains a failed connect or TLS handshake.
	UpstreamTransportFailureReason string
	// Attempts counts the upstream attempts made (x-envoy-attempt-count).
	Attempts int

	// RouteName is the name of the matched route.
	RouteName string
	// VirtualClusterName is the matched virtual cluster, if any.
	VirtualClusterName string

	// RequestHeaders, ResponseHeaders and ResponseTrailers are the stream's headers
	// for formatters; any of them may be nil.
	RequestHeaders   *header.Map
	ResponseHeaders  *header.Map
	ResponseTrailers *header.Map

	// Metadata is the stream's dynamic metadata, by filter namespace.
	Metadata map[string]map[string]any

	// HealthCheck is set when the health_check HTTP filter identified the request as a
	// health check; the not_health_check_filter access log filter skips such requests.
	HealthCheck bool
}

// Downstream describes the downstream connection a stream arrived on.
type Downstream struct {
	// ConnectionID is unique per proxy process.
	ConnectionID uint64
	// RemoteAddress is the client address, after x-forwarded-for processing when
	// use_remote_address is set.
	RemoteAddress netip.AddrPort
	// DirectRemoteAddress is the peer of the TCP connection.
	DirectRemoteAddress netip.AddrPort
	// LocalAddress is the address the connection arrived at (the original destination
	// when original_dst restored one).
	LocalAddress netip.AddrPort
	// ListenerName is the name of the listener that owns the connection.
	ListenerName string
	// RequestedServerName is the SNI the client sent.
	RequestedServerName string
	// TLS is set when the connection is TLS-terminated.
	TLS *TLSInfo
}

// TLSInfo describes a terminated TLS session.
type TLSInfo struct {
	Version     string
	CipherSuite string
	ALPN        string
	PeerCert    *x509.Certificate
	LocalCert   *x509.Certificate
}

// Reset clears the info for reuse, keeping nothing from the previous stream.
func (i *Info) Reset() { *i = Info{} }

// AddFlag sets f.
func (i *Info) AddFlag(f Flags) { i.Flags |= f }

// Since returns the time elapsed from Start.
func (i *Info) Since() time.Duration { return time.Since(i.Start) }

// Mark stores the time elapsed since Start in *d unless it is already set.
func (i *Info) Mark(d *time.Duration) {
	if *d == 0 {
		*d = max(time.Since(i.Start), 1)
	}
}
