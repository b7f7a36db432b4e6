package httpfilter

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// ErrHeadersSent is returned when a response head was already sent.
var ErrHeadersSent = errors.New("response headers already sent")

// Body is a request body as filters and the router read it.
type Body interface {
	io.Reader
	// Length returns the body length, 0 when there is no body, -1 when unknown.
	Length() int64
	// Trailers returns the request trailers once Read returned io.EOF (nil if none).
	Trailers() *header.Map
	// Buffered reports whether the whole remaining body is already in memory, so that
	// reading it cannot block.
	Buffered() bool
}

// ResponseWriter is the downstream side of a codec, as the Stream drives it.
type ResponseWriter interface {
	// WriteHeaders sends the response head (h holds :status). end means no body follows.
	WriteHeaders(h *header.Map, end bool) error
	// Write writes body bytes; they may be buffered until Flush or End.
	Write(p []byte) (int, error)
	// Flush sends buffered body bytes.
	Flush() error
	// End ends the response, with trailers when t is not nil.
	End(t *header.Map) error
	// Reset aborts the response: the HTTP/1 connection is closed, the HTTP/2 stream reset.
	Reset()
	// Upgrade returns the raw downstream byte stream after a 101 (or CONNECT 200) head
	// was sent; it is only available on HTTP/1.
	Upgrade() (io.ReadWriter, error)
}

// TimeoutError is a downstream timeout: the stream idle timeout or the request timeout
// while the request was being read, or the stream's max duration. It carries the local
// reply Envoy sends.
type TimeoutError struct {
	Status int
	// CompleteStatus, when not 0, is the status once the whole request has arrived
	// (Envoy's max_stream_duration: 408 while the request is still coming, 504 after).
	CompleteStatus int
	Flag           streaminfo.Flags
	Details        string
	Body           string
}

func (e *TimeoutError) Error() string { return "downstream " + e.Details }

// Timeout reports true: the error is a timeout.
func (e *TimeoutError) Timeout() bool { return true }

// Server is what the connection manager does with the response's server header:
// nothing (Name ""), set it to Name (OVERWRITE), or set it only when the upstream sent
// none (IfAbsent: APPEND_IF_ABSENT).
type Server struct {
	Name     string
	IfAbsent bool
}

// Stream is one request/response exchange as filters see it. The connection manager
// owns it and reuses it for the next request on an HTTP/1 connection, so filters must
// not keep it after DecodeHeaders returns.
type Stream struct {
	// Ctx ends when the downstream connection or stream goes away.
	Ctx context.Context
	// Request holds the request headers, pseudo-headers first.
	Request header.Map
	// Body is the request body.
	Body Body
	// Info records what happened, for access logs and stats.
	Info streaminfo.Info
	// Route is the route matched for the request, or nil.
	Route *route.Entry
	// Random is the stream's random number (weighted clusters, runtime fractions).
	Random uint64
	// HTTP2 reports whether the downstream protocol is HTTP/2.
	HTTP2 bool
	// TLS reports whether the downstream connection is TLS.
	TLS bool
	// DownstreamErr is set when reading the request body failed; the router answers
	// with it instead of blaming the upstream.
	DownstreamErr error
	// ReplayBuffer is storage the router keeps request bodies in for retries; it stays
	// with the connection so that its memory is reused.
	ReplayBuffer []byte

	resp     header.Map
	trailers header.Map
	abort    *Abort
	w        ResponseWriter
	encoders []Encoder
	server   Server
	sent     bool
	rematch  func(*Stream) *route.Entry
}

// Init prepares the stream for a new request. The connection manager calls it.
func (s *Stream) Init(ctx context.Context, w ResponseWriter, encoders []Encoder, server Server, rematch func(*Stream) *route.Entry) {
	s.Ctx, s.w, s.encoders, s.server, s.rematch = ctx, w, encoders, server, rematch
	s.Body, s.Route, s.sent, s.DownstreamErr = nil, nil, false, nil
	s.resp.Reset()
	s.trailers.Reset()
}

// ResponseHeaders returns storage for building the response head.
func (s *Stream) ResponseHeaders() *header.Map { return &s.resp }

// Timeout returns the downstream timeout that ended the stream, or nil.
func (s *Stream) Timeout() *TimeoutError {
	var te *TimeoutError
	if errors.As(s.DownstreamErr, &te) {
		return te
	}
	if s.abort != nil {
		return s.abort.Timeout()
	}
	return nil
}

// SendTimeoutReply answers a stream that a downstream timeout ended with the local
// reply the timeout names.
func (s *Stream) SendTimeoutReply(te *TimeoutError) {
	status := te.Status
	if te.CompleteStatus != 0 && (s.Body == nil || s.Body.Buffered()) {
		status = te.CompleteStatus
	}
	s.SendLocalReply(status, te.Body, te.Flag, te.Details, nil)
}

// SetAbort attaches the connection's abort hook (HTTP/1 disconnect detection).
func (s *Stream) SetAbort(a *Abort) { s.abort = a }

// WatchUpstream registers the HTTP/1 upstream connection the stream waits on, so that a
// downstream disconnect closes it; nil clears it.
func (s *Stream) WatchUpstream(c *connpool.Conn) {
	if s.abort != nil {
		s.abort.watchUpstream(c)
	}
}

// ResponseTrailers returns storage for the response trailers.
func (s *Stream) ResponseTrailers() *header.Map { return &s.trailers }

// HeadersSent reports whether the response head went downstream.
func (s *Stream) HeadersSent() bool { return s.sent }

// ClearRouteCache matches the route again after a filter changed the request headers.
func (s *Stream) ClearRouteCache() {
	if s.rematch != nil {
		s.Route = s.rematch(s)
	}
}

// SendHeaders runs the encoders and sends the response head. end means no body follows.
func (s *Stream) SendHeaders(h *header.Map, end bool) error {
	if s.sent {
		return ErrHeadersSent
	}
	for i := len(s.encoders) - 1; i >= 0; i-- {
		s.encoders[i].EncodeHeaders(s, h)
	}
	switch {
	case s.server.Name == "":
	case s.server.IfAbsent:
		h.SetDefault("server", s.server.Name)
	default:
		h.Set("server", s.server.Name)
	}
	s.Info.ResponseCode, _ = strconv.Atoi(h.Get(header.Status))
	s.Info.ResponseHeaders = h
	s.Info.Mark(&s.Info.FirstDownstreamTxByte)
	s.sent = true
	if err := s.w.WriteHeaders(h, end); err != nil {
		return err
	}
	if end {
		s.Info.Mark(&s.Info.LastDownstreamTxByte)
	}
	return nil
}

// SendData sends response body bytes; they may be buffered until Flush or End.
func (s *Stream) SendData(p []byte) error {
	s.Info.BytesSent += int64(len(p))
	_, err := s.w.Write(p)
	return err
}

// Flush sends buffered body bytes.
func (s *Stream) Flush() error { return s.w.Flush() }

// End ends the response, with trailers when t is not nil.
func (s *Stream) End(t *header.Map) error {
	if t != nil && t.Len() > 0 {
		s.Info.ResponseTrailers = t
	}
	err := s.w.End(t)
	s.Info.Mark(&s.Info.LastDownstreamTxByte)
	return err
}

// Reset aborts the response after its head was sent.
func (s *Stream) Reset() { s.w.Reset() }

// Upgrade returns the raw downstream byte stream after an upgrade response was sent.
func (s *Stream) Upgrade() (io.ReadWriter, error) { return s.w.Upgrade() }

// SendLocalReply answers the request from the proxy itself: status code, a text/plain
// body, the response flag and Envoy's response-code details. modify, when not nil,
// adjusts the headers (the router applies the route's response headers). When the head
// was already sent the stream is reset instead. A gRPC call gets the trailers-only
// answer Envoy converts local replies to (see SendLocalReplyGRPC).
func (s *Stream) SendLocalReply(code int, body string, flags streaminfo.Flags, details string, modify func(*header.Map)) {
	s.SendLocalReplyGRPC(code, -1, body, flags, details, modify)
}

// SendLocalReplyGRPC is SendLocalReply with the grpc-status a gRPC call gets: a
// trailers-only 200 with grpcStatus (when negative, the status code maps to one) and the
// body as grpc-message. The fault and rate-limit filters set grpcStatus from config.
func (s *Stream) SendLocalReplyGRPC(code, grpcStatus int, body string, flags streaminfo.Flags, details string, modify func(*header.Map)) {
	s.Info.AddFlag(flags)
	if details != "" {
		s.Info.ResponseCodeDetails = details
	}
	if s.sent {
		s.Info.AddFlag(streaminfo.LocalReset)
		s.w.Reset()
		return
	}
	h := &s.resp
	h.Reset()
	if IsGRPC(&s.Request) {
		if grpcStatus < 0 {
			grpcStatus = GRPCStatus(code)
		}
		s.sendGRPCLocalReply(grpcStatus, body, modify)
		return
	}
	h.Add(header.Status, strconv.Itoa(code))
	if body != "" {
		h.Add("content-length", strconv.Itoa(len(body)))
		h.Add("content-type", "text/plain")
	}
	h.Add("date", time.Now().UTC().Format(http.TimeFormat))
	if modify != nil {
		modify(h)
	}
	if s.Request.Get(header.Method) == "HEAD" {
		body = ""
	}
	if err := s.SendHeaders(h, body == ""); err != nil || body == "" {
		return
	}
	s.SendData([]byte(body))
	s.End(nil)
}

// IsGRPC reports whether a request is a gRPC call: content-type application/grpc or
// application/grpc+<subtype> (not gRPC-Web), with parameters allowed.
func IsGRPC(h *header.Map) bool {
	ct := h.Get("content-type")
	const grpc = "application/grpc"
	return strings.HasPrefix(ct, grpc) && (len(ct) == len(grpc) || ct[len(grpc)] == '+' || ct[len(grpc)] == ';')
}

// sendGRPCLocalReply answers a gRPC call as Envoy converts local replies: a trailers-only
// 200 with grpcStatus and the body as grpc-message.
func (s *Stream) sendGRPCLocalReply(grpcStatus int, body string, modify func(*header.Map)) {
	h := &s.resp
	h.Add(header.Status, "200")
	h.Add("content-type", "application/grpc")
	h.Add("grpc-status", strconv.Itoa(grpcStatus))
	if body != "" {
		h.Add("grpc-message", grpcMessage(body))
	}
	if modify != nil {
		modify(h)
	}
	s.SendHeaders(h, true)
}

// grpcMessage percent-encodes a grpc-message as the gRPC spec says: bytes outside
// printable ASCII, and '%'.
func grpcMessage(s string) string {
	const hex = "0123456789ABCDEF"
	var b []byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c <= 0x7e && c != '%' {
			if b != nil {
				b = append(b, c)
			}
			continue
		}
		if b == nil {
			b = append(make([]byte, 0, len(s)+8), s[:i]...)
		}
		b = append(b, '%', hex[c>>4], hex[c&15])
	}
	if b == nil {
		return s
	}
	return string(b)
}

// GRPCStatus maps an HTTP status to a gRPC status code as Envoy does.
func GRPCStatus(httpStatus int) int {
	switch httpStatus {
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
	}
	return 2 // UNKNOWN
}
