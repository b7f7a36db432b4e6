// Package inspect holds the pure functions behind weft's listener filters: they look at
// the first bytes a client sent, peeked and not consumed, and say what the connection
// carries.
//
//   - DetectTLS is the quick check for the filter-chain match's transport_protocol:
//     "tls" when the bytes start a TLS handshake record, "raw_buffer" otherwise.
//   - ParseClientHello reads a TLS ClientHello for the tls_inspector: the SNI server
//     name, the ALPN protocols and the offered versions.
//   - DetectHTTP decides, as Envoy's http_inspector does, whether plaintext bytes are
//     HTTP/2 with prior knowledge ("h2c") or an HTTP/1.x request ("http/1.1",
//     "http/1.0").
//
// Every function tells "need more bytes" apart from "not this protocol", so the caller
// can peek again with a larger buffer, and none of them panics or reads past its input,
// whatever the bytes: they face the network unauthenticated.
//
// The package does no I/O and keeps no state. It imports only the standard library and
// must not import any other weft package, protobuf, or crypto/tls.
package inspect
