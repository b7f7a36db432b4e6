package httpfilter

import (
	"github.com/weftmesh/weft/internal/proxy/header"
)

// Status tells the connection manager whether to run the next filter.
type Status int

const (
	// Continue runs the next filter.
	Continue Status = iota
	// Stop ends the chain: the filter answered the request (a local reply, or the
	// router's proxied response).
	Stop
)

// Filter is an HTTP filter configured for one filter chain. One instance serves every
// stream of the chain concurrently, so it must keep per-request state in the Stream.
type Filter interface {
	// DecodeHeaders runs when the request headers have arrived. It may change them,
	// answer the request (s.SendLocalReply, then Stop) or block (fault delays).
	DecodeHeaders(s *Stream) Status
}

// Encoder is implemented by filters that change response headers. Encoders run in
// reverse config order, just before the headers go downstream.
type Encoder interface {
	EncodeHeaders(s *Stream, resp *header.Map)
}

// Logger is implemented by filters that want to see each finished stream (stats
// filters, for example).
type Logger interface {
	OnStreamComplete(s *Stream)
}
