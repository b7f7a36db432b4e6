// Package h2 is weft's server side of HTTP/2 (RFC 9113) for downstream connections: one
// reader goroutine per connection reads frames with x/net/http2's Framer and decodes
// HPACK straight into header.Map; each request stream is served by a Handler on a
// goroutine of its own; responses are framed into one buffer per connection that a
// writer goroutine flushes, so that a burst of frames costs one write. Flow control,
// SETTINGS, PING, RST_STREAM, GOAWAY (drain, idle timeout, protocol errors) and request
// validation are done here; what a stream means is the Handler's business.
// It imports header only (and x/net's framing and HPACK); never net/http's server, hcm,
// httpfilter or a filter.
package h2
