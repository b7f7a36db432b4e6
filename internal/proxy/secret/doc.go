// Package secret turns Envoy v3 TLS config into crypto/tls configs for the proxy:
// DownstreamTlsContext into a server config that terminates TLS on a listener,
// UpstreamTlsContext into a client config for a cluster's connections.
//
// A Manager holds the named secrets (tlsv3.Secret: a tls_certificate or a
// validation_context), from the bootstrap's static_resources.secrets and from SDS, and
// builds the configs. Certificates and CA bundles rotate without rebuilding a config:
// the tls.Config's GetCertificate, GetClientCertificate and VerifyConnection callbacks
// read the current value at each handshake, a secret set again is seen by the next
// handshake, and a file is read again when its modification time, size or identity
// changes (checked at most once a second, on the handshake path; no goroutine, no
// fsnotify). Peer certificates are verified by weft, not by crypto/tls: the chain
// against the trusted CA, then Envoy's subject-alt-name matchers and pins, which are
// not hostname verification.
//
// Certs reports the certificates of the live configs in the shape of Envoy's admin
// /certs endpoint.
//
// The package imports the Envoy API types and internal/proxy/config, for the Support
// registry; it must not import other weft packages, the control plane, or anything
// that does network I/O.
package secret
