package h2

import (
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/net/http2"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// echo answers 200 with the request body, and x-path and x-trailer from the request.
var echo = HandlerFunc(func(st *Stream) {
	body, _ := io.ReadAll(st)
	resp := header.Of(":status", "200", "x-path", st.Header().Get(header.Path))
	st.WriteHeaders(&resp, false)
	st.Write(body)
	var tr header.Map
	if t := st.Trailers(); t != nil {
		tr.Add("x-trailer", t.Get("x-t"))
	}
	st.End(&tr)
})

// TestRequestResponse: a GET and a POST with trailers both ways; the request headers
// reach the handler as a header.Map with pseudo-headers first.
func TestRequestResponse(t *testing.T) {
	var got atomic.Pointer[header.Map]
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
		h := st.Header().Clone()
		got.Store(&h)
		echo(st)
	}))
	c.get(1, "user-agent", "test", "cookie", "a=1", "cookie", "b=2")
	h := c.next()
	if h.typ != http2.FrameHeaders || !h.end || fieldMap(h.fields)[":status"] != "200" {
		t.Fatalf("response %+v, want one HEADERS with END_STREAM (no body, no trailers)", h)
	}
	want := header.Of(":method", "GET", ":scheme", "http", ":authority", "a.test", ":path", "/p", "user-agent", "test", "cookie", "a=1; b=2")
	if diff := cmp.Diff(want.Fields(), got.Load().Fields()); diff != "" {
		t.Errorf("request headers (-want +got):\n%s", diff)
	}

	c.headers(3, false, ":method", "POST", ":scheme", "https", ":path", "/post", "host", "b.test", "content-length", "5")
	c.fr.WriteData(3, false, []byte("hel"))
	c.fr.WriteData(3, false, []byte("lo"))
	c.headers(3, true, "x-t", "v")
	h = c.nextOf(http2.FrameHeaders)
	if m := fieldMap(h.fields); m[":status"] != "200" || m["x-path"] != "/post" {
		t.Errorf("response head %v", m)
	}
	if d := c.nextOf(http2.FrameData); string(d.data) != "hello" {
		t.Errorf("body %q, want hello", d.data)
	}
	tr := c.nextOf(http2.FrameHeaders)
	if m := fieldMap(tr.fields); !tr.end || m["x-trailer"] != "v" {
		t.Errorf("trailers %v end %v", m, tr.end)
	}
	if a := got.Load().Get(header.Authority); a != "b.test" {
		t.Errorf(":authority %q, want the host header's b.test", a)
	}
}

// TestTrailersOnly: a head held back and ended without body goes out as one HEADERS
// frame with END_STREAM, as gRPC's trailers-only responses must.
func TestTrailersOnly(t *testing.T) {
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
		h := header.Of(":status", "200", "grpc-status", "5")
		st.WriteHeaders(&h, false)
		st.End(nil)
	}))
	c.get(1)
	f := c.next()
	if f.typ != http2.FrameHeaders || !f.end || fieldMap(f.fields)["grpc-status"] != "5" {
		t.Fatalf("got %+v, want one HEADERS with END_STREAM and grpc-status", f)
	}
}

// TestHandlerWithoutResponse: a handler that returns without a response resets the
// stream; one that sent only a head has it ended.
func TestHandlerWithoutResponse(t *testing.T) {
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
		if st.Header().Has("x-head") {
			h := header.Of(":status", "204")
			st.WriteHeaders(&h, false)
			st.Write([]byte("dropped: 204 has no body"))
		}
	}))
	c.get(1)
	if f := c.next(); f.typ != http2.FrameRSTStream || f.code != http2.ErrCodeInternal {
		t.Errorf("got %+v, want RST_STREAM INTERNAL_ERROR", f)
	}
	c.get(3, "x-head", "1")
	if f := c.next(); f.typ != http2.FrameHeaders || !f.end {
		t.Errorf("got %+v, want HEADERS with END_STREAM", f)
	}
}

// TestMalformedRequests: RFC 9113 §8.1.1 — each is a stream error PROTOCOL_ERROR, the
// handler never runs, and the connection serves on.
func TestMalformedRequests(t *testing.T) {
	for name, fields := range map[string][]string{
		"no path":             {":method", "GET", ":scheme", "http", ":authority", "a"},
		"empty path":          {":method", "GET", ":scheme", "http", ":path", ""},
		"relative path":       {":method", "GET", ":scheme", "http", ":path", "p"},
		"no method":           {":scheme", "http", ":path", "/"},
		"bad scheme":          {":method", "GET", ":scheme", "ftp", ":path", "/"},
		"duplicate method":    {":method", "GET", ":method", "GET", ":scheme", "http", ":path", "/"},
		"status in request":   {":method", "GET", ":scheme", "http", ":path", "/", ":status", "200"},
		"unknown pseudo":      {":method", "GET", ":scheme", "http", ":path", "/", ":foo", "x"},
		"extended connect":    {":method", "CONNECT", ":protocol", "websocket", ":scheme", "http", ":path", "/", ":authority", "a"},
		"pseudo after field":  {":method", "GET", ":scheme", "http", "x", "y", ":path", "/"},
		"uppercase name":      {":method", "GET", ":scheme", "http", ":path", "/", "X-Up", "y"},
		"connection header":   {":method", "GET", ":scheme", "http", ":path", "/", "connection", "close"},
		"transfer-encoding":   {":method", "GET", ":scheme", "http", ":path", "/", "transfer-encoding", "chunked"},
		"te not trailers":     {":method", "GET", ":scheme", "http", ":path", "/", "te", "gzip"},
		"bad value":           {":method", "GET", ":scheme", "http", ":path", "/", "x", "a\x00b"},
		"two hosts":           {":method", "GET", ":scheme", "http", ":path", "/", "host", "a", "host", "b"},
		"host mismatch":       {":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a", "host", "b"},
		"userinfo":            {":method", "GET", ":scheme", "http", ":path", "/", ":authority", "u@a"},
		"connect with path":   {":method", "CONNECT", ":authority", "a:443", ":path", "/"},
		"connect no host":     {":method", "CONNECT"},
		"bad content-length":  {":method", "GET", ":scheme", "http", ":path", "/", "content-length", "x"},
		"ended with a length": {":method", "GET", ":scheme", "http", ":path", "/", "content-length", "3"},
	} {
		t.Run(name, func(t *testing.T) {
			var ran atomic.Bool
			c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
				if st.ID() == 1 {
					ran.Store(true)
				}
				echo(st)
			}))
			c.headers(1, true, fields...)
			if f := c.next(); f.typ != http2.FrameRSTStream || f.stream != 1 || f.code != http2.ErrCodeProtocol {
				t.Fatalf("got %+v, want RST_STREAM PROTOCOL_ERROR on stream 1", f)
			}
			c.get(3)
			if f := c.next(); f.typ != http2.FrameHeaders || f.stream != 3 {
				t.Fatalf("next request got %+v", f)
			}
			if ran.Load() {
				t.Error("the handler ran for the malformed request")
			}
		})
	}
}

// TestConnect: CONNECT carries :authority and no :scheme or :path.
func TestConnect(t *testing.T) {
	c := newClient(t, Config{}, echo)
	c.headers(1, true, ":method", "CONNECT", ":authority", "a:443")
	if f := c.next(); f.typ != http2.FrameHeaders {
		t.Fatalf("got %+v, want a response", f)
	}
}

// TestContentLengthMismatch: DATA beyond or short of content-length is a stream error.
func TestContentLengthMismatch(t *testing.T) {
	c := newClient(t, Config{}, echo)
	post := []string{":method", "POST", ":scheme", "http", ":path", "/", "content-length", "2"}
	c.headers(1, false, post...)
	c.fr.WriteData(1, true, []byte("abc"))
	if f := c.nextOf(http2.FrameRSTStream); f.stream != 1 || f.code != http2.ErrCodeProtocol {
		t.Errorf("too long: %+v", f)
	}
	c.headers(3, false, post...)
	c.fr.WriteData(3, true, []byte("a"))
	if f := c.nextOf(http2.FrameRSTStream); f.stream != 3 || f.code != http2.ErrCodeProtocol {
		t.Errorf("too short: %+v", f)
	}
}

// TestHeadersTooLarge: a header list over the limit reaches the handler marked, so that
// it answers 431; the HPACK state stays in step for the next request.
func TestHeadersTooLarge(t *testing.T) {
	c := newClient(t, Config{MaxHeaderBytes: 1024, MaxHeaders: 10}, HandlerFunc(func(st *Stream) {
		status := "200"
		if st.HeadersTooLarge() {
			status = "431"
		}
		h := header.Of(":status", status)
		st.WriteHeaders(&h, true)
	}))
	c.get(1, "big", strings.Repeat("x", 2000))
	if m := fieldMap(c.next().fields); m[":status"] != "431" {
		t.Errorf("large: %v", m)
	}
	many := []string{}
	for i := 0; i < 12; i++ {
		many = append(many, "f", "v")
	}
	c.get(3, many...)
	if m := fieldMap(c.next().fields); m[":status"] != "431" {
		t.Errorf("many: %v", m)
	}
	c.get(5)
	if m := fieldMap(c.next().fields); m[":status"] != "200" {
		t.Errorf("after: %v", m)
	}
}

// TestContinuation: a header block split over HEADERS and CONTINUATION frames.
func TestContinuation(t *testing.T) {
	c := newClient(t, Config{}, echo)
	block := c.block(":method", "GET", ":scheme", "http", ":path", "/cont", "x", strings.Repeat("y", 100))
	c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block[:10], EndStream: true})
	c.fr.WriteContinuation(1, false, block[10:50])
	c.fr.WriteContinuation(1, true, block[50:])
	if m := fieldMap(c.next().fields); m["x-path"] != "/cont" {
		t.Errorf("response %v", m)
	}
}

// TestConnectionErrors: stream ID misuse and frames out of place end the connection
// with GOAWAY and the RFC's error code.
func TestConnectionErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		send func(c *client)
		code http2.ErrCode
	}{
		{"even stream id", func(c *client) { c.get(2) }, http2.ErrCodeProtocol},
		{"stream id reused", func(c *client) { c.get(5); c.nextOf(http2.FrameHeaders); c.get(3) }, http2.ErrCodeProtocol},
		{"data on idle stream", func(c *client) { c.fr.WriteData(7, true, []byte("x")) }, http2.ErrCodeProtocol},
		{"window update on idle stream", func(c *client) { c.fr.WriteWindowUpdate(9, 1) }, http2.ErrCodeProtocol},
		{"rst on idle stream", func(c *client) { c.fr.WriteRSTStream(9, http2.ErrCodeCancel) }, http2.ErrCodeProtocol},
		{"continuation alone", func(c *client) { c.fr.WriteContinuation(1, true, c.block("a", "b")) }, http2.ErrCodeProtocol},
		{"frame inside a header block", func(c *client) {
			c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: c.block(":method", "GET")})
			c.fr.WritePing(false, [8]byte{})
		}, http2.ErrCodeProtocol},
		{"push promise", func(c *client) {
			c.fr.WritePushPromise(http2.PushPromiseParam{StreamID: 1, PromiseID: 2, EndHeaders: true})
		}, http2.ErrCodeProtocol},
		{"bad hpack", func(c *client) {
			c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: []byte{0xff, 0xff, 0xff, 0xff}, EndHeaders: true})
		}, http2.ErrCodeCompression},
		{"connection window overflow", func(c *client) { c.fr.WriteWindowUpdate(0, 1<<31-1) }, http2.ErrCodeFlowControl},
		{"initial window overflow", func(c *client) {
			c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/")
			c.fr.WriteWindowUpdate(1, 1<<31-1-65535)
			c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 65536})
		}, http2.ErrCodeFlowControl},
		{"frame too large", func(c *client) {
			c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/")
			c.fr.WriteData(1, false, make([]byte, 20000))
		}, http2.ErrCodeFrameSize},
		{"ping on a stream", func(c *client) {
			c.fr.AllowIllegalWrites = true
			c.fr.WriteRawFrame(http2.FramePing, 0, 1, make([]byte, 8))
		}, http2.ErrCodeProtocol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, Config{}, echo)
			tc.send(c)
			if err := c.goAway(tc.code); !isConnErr(err, tc.code) {
				t.Errorf("Serve returned %v, want connection error %v", err, tc.code)
			}
		})
	}
}

// TestPing: a PING is answered with its data.
func TestPing(t *testing.T) {
	c := newClient(t, Config{}, echo)
	c.fr.WritePing(false, [8]byte{1, 2, 3, 4, 5, 6, 7, 8})
	if f := c.next(); f.typ != http2.FramePing || !f.ack || f.data[7] != 8 {
		t.Errorf("got %+v, want the PING acked", f)
	}
}

// TestMaxConcurrentStreams: a stream over the limit is refused, and admitted once one
// finished.
func TestMaxConcurrentStreams(t *testing.T) {
	release := make(chan struct{})
	c := newClient(t, Config{MaxConcurrentStreams: 1}, HandlerFunc(func(st *Stream) {
		<-release
		echo(st)
	}))
	c.get(1)
	c.get(3)
	if f := c.next(); f.typ != http2.FrameRSTStream || f.stream != 3 || f.code != http2.ErrCodeRefusedStream {
		t.Fatalf("got %+v, want stream 3 refused", f)
	}
	close(release)
	c.nextOf(http2.FrameHeaders)
	time.Sleep(10 * time.Millisecond) // stream 1 leaves the connection after its response
	c.get(5)
	if f := c.nextOf(http2.FrameHeaders); f.stream != 5 {
		t.Errorf("got %+v, want stream 5 served", f)
	}
}

type canceler chan struct{}

func (c canceler) Fire() { close(c) }

// TestClientReset: RST_STREAM from the client fires the stream's Canceler and fails
// its body read; the stream is not reset back.
func TestClientReset(t *testing.T) {
	readErr := make(chan error, 1)
	cancelled := make(canceler)
	var resetByClient atomic.Bool
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
		st.SetCanceler(cancelled)
		_, err := io.ReadAll(st)
		resetByClient.Store(st.ResetByClient())
		readErr <- err
		h := header.Of(":status", "200")
		if err := st.WriteHeaders(&h, true); err == nil {
			t.Error("WriteHeaders on a reset stream succeeded")
		}
	}))
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/")
	c.fr.WriteRSTStream(1, http2.ErrCodeCancel)
	select {
	case <-cancelled:
	case <-time.After(5 * time.Second):
		t.Fatal("canceler did not fire")
	}
	if err := <-readErr; err == nil {
		t.Error("body read after a reset returned no error")
	}
	if !resetByClient.Load() {
		t.Error("ResetByClient is false")
	}
	c.fr.WritePing(false, [8]byte{})
	if f := c.next(); f.typ != http2.FramePing {
		t.Errorf("got %+v, want only the PING ack (no RST_STREAM answering a reset)", f)
	}
}

// TestHandlerReset: Reset sends RST_STREAM and fails the body read.
func TestHandlerReset(t *testing.T) {
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) { st.Reset() }))
	c.get(1)
	if f := c.next(); f.typ != http2.FrameRSTStream || f.code != http2.ErrCodeInternal {
		t.Errorf("got %+v, want RST_STREAM INTERNAL_ERROR", f)
	}
}

// TestEarlyResponse: a handler that answers before the request body ended refuses the
// rest with RST_STREAM NO_ERROR.
func TestEarlyResponse(t *testing.T) {
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
		h := header.Of(":status", "413")
		st.WriteHeaders(&h, true)
	}))
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/")
	if f := c.next(); f.typ != http2.FrameHeaders || !f.end {
		t.Fatalf("got %+v", f)
	}
	if f := c.next(); f.typ != http2.FrameRSTStream || f.code != http2.ErrCodeNo {
		t.Errorf("got %+v, want RST_STREAM NO_ERROR", f)
	}
}

// TestShutdown: GOAWAY names the last stream, the stream in flight finishes, new
// streams are ignored, and Serve returns once it is done.
func TestShutdown(t *testing.T) {
	started, release := make(chan *Conn, 1), make(chan struct{})
	var conn atomic.Pointer[Conn]
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
		conn.Store(st.c)
		started <- st.c
		<-release
		echo(st)
	}))
	c.get(1)
	(<-started).Shutdown(5 * time.Second)
	if f := c.next(); f.typ != http2.FrameGoAway || f.code != http2.ErrCodeNo || f.lastID != 1 {
		t.Fatalf("got %+v, want GOAWAY NO_ERROR last stream 1", f)
	}
	c.get(3)
	close(release)
	if f := c.next(); f.typ != http2.FrameHeaders || f.stream != 1 {
		t.Fatalf("got %+v, want stream 1's response", f)
	}
	if err := c.wait(); err != nil {
		t.Errorf("Serve returned %v", err)
	}
}

// TestShutdownTimeout: streams still running after the drain timeout are cut off.
func TestShutdownTimeout(t *testing.T) {
	started := make(chan *Conn, 1)
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
		started <- st.c
		io.ReadAll(st) // never ends: the client sends no END_STREAM
	}))
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/")
	(<-started).Shutdown(50 * time.Millisecond)
	if err := c.goAway(http2.ErrCodeNo); err != nil {
		t.Errorf("Serve returned %v", err)
	}
}

// TestIdleTimeout: a connection without streams is closed with GOAWAY.
func TestIdleTimeout(t *testing.T) {
	c := newClient(t, Config{IdleTimeout: 50 * time.Millisecond}, echo)
	c.get(1)
	c.nextOf(http2.FrameHeaders)
	if err := c.goAway(http2.ErrCodeNo); !errors.Is(err, ErrIdleTimeout) {
		t.Errorf("Serve returned %v, want ErrIdleTimeout", err)
	}
}

// TestBadPreface: a connection that does not start with the preface is refused.
func TestBadPreface(t *testing.T) {
	r := strings.NewReader("GET / HTTP/1.1\r\nHost: a\r\n\r\n")
	conn := NewConn(nopConn{}, r, Config{}, echo)
	if err := conn.Serve(); !isConnErr(err, http2.ErrCodeProtocol) {
		t.Errorf("Serve = %v, want PROTOCOL_ERROR", err)
	}
}

// TestFirstFrameSettings: the preface must be followed by SETTINGS.
func TestFirstFrameSettings(t *testing.T) {
	var b strings.Builder
	b.WriteString(Preface)
	fr := http2.NewFramer(&b, nil)
	fr.WritePing(false, [8]byte{})
	conn := NewConn(nopConn{}, strings.NewReader(b.String()), Config{}, echo)
	if err := conn.Serve(); !isConnErr(err, http2.ErrCodeProtocol) {
		t.Errorf("Serve = %v, want PROTOCOL_ERROR", err)
	}
}
