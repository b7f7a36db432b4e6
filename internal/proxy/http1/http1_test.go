package http1

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"github.com/weftmesh/weft/internal/proxy/header"
)

func fields(h *header.Map) []string {
	var out []string
	for _, f := range h.Fields() {
		out = append(out, f.Name+"="+f.Value)
	}
	return out
}

func TestReadRequest(t *testing.T) {
	tests := []struct {
		name   string
		in     string
		want   []string
		head   Head
		status int // expected error status, 0 for success
	}{
		{
			name: "simple get",
			in:   "GET /a?b=c HTTP/1.1\r\nHost: example.com\r\nUser-Agent: x\r\n\r\n",
			want: []string{":method=GET", ":path=/a?b=c", ":authority=example.com", "user-agent=x"},
			head: Head{Minor: 1, KeepAlive: true, Body: NoBody},
		},
		{
			name: "names lowercased, values trimmed",
			in:   "POST / HTTP/1.1\r\nHOST: h\r\nX-Foo:   bar baz \t\r\nContent-Length: 3\r\n\r\nabc",
			want: []string{":method=POST", ":path=/", ":authority=h", "x-foo=bar baz", "content-length=3"},
			head: Head{Minor: 1, KeepAlive: true, Body: Framing{Length: 3}},
		},
		{
			name: "chunked drops transfer-encoding",
			in:   "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
			want: []string{":method=POST", ":path=/", ":authority=h"},
			head: Head{Minor: 1, KeepAlive: true, Body: Framing{Length: -1, Chunked: true}},
		},
		{
			name: "http/1.0 defaults to close",
			in:   "GET / HTTP/1.0\r\n\r\n",
			want: []string{":method=GET", ":path=/"},
			head: Head{Minor: 0, Body: NoBody},
		},
		{
			name: "http/1.0 keep-alive",
			in:   "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
			want: []string{":method=GET", ":path=/"},
			head: Head{Minor: 0, KeepAlive: true, Body: NoBody},
		},
		{
			name: "connection close and hop-by-hop names",
			in:   "GET / HTTP/1.1\r\nHost: h\r\nConnection: close, X-Hop\r\nX-Hop: 1\r\nKeep-Alive: 5\r\nTE: trailers\r\n\r\n",
			want: []string{":method=GET", ":path=/", ":authority=h", "te=trailers"},
			head: Head{Minor: 1, Body: NoBody},
		},
		{
			name: "websocket upgrade",
			in:   "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
			want: []string{":method=GET", ":path=/ws", ":authority=h", "upgrade=websocket"},
			head: Head{Minor: 1, KeepAlive: true, Upgrade: true, Body: NoBody},
		},
		{
			name: "expect continue",
			in:   "PUT / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n",
			want: []string{":method=PUT", ":path=/", ":authority=h", "expect=100-continue", "content-length=1"},
			head: Head{Minor: 1, KeepAlive: true, ExpectContinue: true, Body: Framing{Length: 1}},
		},
		{
			name: "absolute form",
			in:   "GET http://other:8080?q HTTP/1.1\r\nHost: h\r\n\r\n",
			want: []string{":method=GET", ":path=/?q", ":authority=other:8080"},
			head: Head{Minor: 1, KeepAlive: true, Body: NoBody},
		},
		{
			name: "connect",
			in:   "CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\n",
			want: []string{":method=CONNECT", ":authority=db:5432"},
			head: Head{Minor: 1, KeepAlive: true, Upgrade: true, Body: NoBody},
		},
		{name: "leading blank lines", in: "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
			want: []string{":method=GET", ":path=/", ":authority=h"}, head: Head{Minor: 1, KeepAlive: true, Body: NoBody}},
		{name: "missing host", in: "GET / HTTP/1.1\r\n\r\n", status: 400},
		{name: "duplicate host", in: "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", status: 400},
		{name: "cl and te", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", status: 400},
		{name: "conflicting cl", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", status: 400},
		{name: "negative cl", in: "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n", status: 400},
		{name: "gzip te", in: "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", status: 501},
		{name: "space before colon", in: "GET / HTTP/1.1\r\nHost : h\r\n\r\n", status: 400},
		{name: "obs fold", in: "GET / HTTP/1.1\r\nHost: h\r\nX: a\r\n b\r\n\r\n", status: 400},
		{name: "ctl in value", in: "GET / HTTP/1.1\r\nHost: h\r\nX: a\x01b\r\n\r\n", status: 400},
		{name: "http/2 version", in: "GET / HTTP/2.0\r\n\r\n", status: 400},
		{name: "bad target", in: "GET foo HTTP/1.1\r\nHost: h\r\n\r\n", status: 400},
		{name: "bad method", in: "G(T / HTTP/1.1\r\nHost: h\r\n\r\n", status: 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in))
			var h header.Map
			var head Head
			err := r.ReadRequest(&h, &head)
			if tt.status != 0 {
				var e *Error
				if !errors.As(err, &e) || e.Status != tt.status {
					t.Fatalf("err = %v, want status %d", err, tt.status)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, fields(&h)); d != "" {
				t.Errorf("fields (-want +got):\n%s", d)
			}
			if d := cmp.Diff(tt.head, head); d != "" {
				t.Errorf("head (-want +got):\n%s", d)
			}
		})
	}
}

func TestLimits(t *testing.T) {
	big := "GET / HTTP/1.1\r\nHost: h\r\nX: " + strings.Repeat("a", 70<<10) + "\r\n\r\n"
	r := NewReader(strings.NewReader(big))
	var h header.Map
	var head Head
	var e *Error
	if err := r.ReadRequest(&h, &head); !errors.As(err, &e) || e.Status != 431 {
		t.Fatalf("large head: err = %v, want 431", err)
	}
	many := "GET / HTTP/1.1\r\nHost: h\r\n" + strings.Repeat("X: 1\r\n", 101) + "\r\n"
	r = NewReader(strings.NewReader(many))
	if err := r.ReadRequest(&h, &head); !errors.As(err, &e) || e.Status != 431 {
		t.Fatalf("many fields: err = %v, want 431", err)
	}
}

// TestPipelinedOneByteReads reads pipelined requests and bodies arriving a byte at a time.
func TestPipelinedOneByteReads(t *testing.T) {
	in := "POST /1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello" +
		"POST /2 HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n" +
		"GET /3 HTTP/1.1\r\nHost: h\r\n\r\n"
	r := NewReader(iotest.OneByteReader(strings.NewReader(in)))
	var got []string
	for {
		var h header.Map
		var head Head
		if err := r.ReadRequest(&h, &head); err == io.EOF {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		var tr header.Map
		body, err := io.ReadAll(r.Body(head.Body, &tr))
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Get(":path")+":"+string(body)+":"+tr.Get("x-trailer"))
	}
	if d := cmp.Diff([]string{"/1:hello:", "/2:abcde:t", "/3::"}, got); d != "" {
		t.Error(d)
	}
}

func TestReadResponse(t *testing.T) {
	tests := []struct {
		name, in, method string
		status           int
		body             Framing
		keepAlive        bool
	}{
		{"content-length", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", "GET", 200, Framing{Length: 2}, true},
		{"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "GET", 200, Framing{Length: -1, Chunked: true}, true},
		{"close delimited", "HTTP/1.1 200 OK\r\n\r\nabc", "GET", 200, Framing{Length: -1, Close: true}, false},
		{"head", "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", "HEAD", 200, NoBody, true},
		{"204", "HTTP/1.1 204 No Content\r\n\r\n", "GET", 204, NoBody, true},
		{"no reason", "HTTP/1.1 503\r\nContent-Length: 0\r\n\r\n", "GET", 503, Framing{Length: 0}, true},
		{"1.0", "HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n", "GET", 200, Framing{Length: 0}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewReader(strings.NewReader(tt.in))
			var h header.Map
			var head Head
			if err := r.ReadResponse(&h, &head, tt.method); err != nil {
				t.Fatal(err)
			}
			if head.Status != tt.status || h.Get(":status") != itoa3(tt.status) {
				t.Errorf("status = %d %q", head.Status, h.Get(":status"))
			}
			if head.Body != tt.body || head.KeepAlive != tt.keepAlive {
				t.Errorf("body = %+v keepalive = %v", head.Body, head.KeepAlive)
			}
		})
	}
}

func TestWriter(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	h := header.Of(":method", "POST", ":path", "/x", ":authority", "up", "x-a", "1", "content-length", "99")
	w.WriteRequestHead(&h, Framing{Length: -1, Chunked: true}, false)
	w.Write([]byte("hello"))
	tr := header.Of("grpc-status", "0")
	w.EndBody(&tr)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "POST /x HTTP/1.1\r\nhost: up\r\nx-a: 1\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\ngrpc-status: 0\r\n\r\n"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}

	// What the writer wrote, the reader reads back.
	r := NewReader(&out)
	var h2 header.Map
	var head Head
	if err := r.ReadRequest(&h2, &head); err != nil {
		t.Fatal(err)
	}
	var tr2 header.Map
	body, _ := io.ReadAll(r.Body(head.Body, &tr2))
	if string(body) != "hello" || tr2.Get("grpc-status") != "0" {
		t.Errorf("round trip: body %q trailers %v", body, fields(&tr2))
	}

	out.Reset()
	w.Reset(&out)
	rh := header.Of(":status", "200", "server", "weft")
	w.WriteResponseHead(200, &rh, Framing{Length: 2}, 1, false, true)
	w.Write([]byte("ok"))
	w.Flush()
	want = "HTTP/1.1 200 OK\r\nserver: weft\r\nconnection: close\r\ncontent-length: 2\r\n\r\nok"
	if out.String() != want {
		t.Errorf("got %q\nwant %q", out.String(), want)
	}
}

// TestAgainstNetHTTP checks that Go's own client and server parse what the writer writes.
func TestAgainstNetHTTP(t *testing.T) {
	var out bytes.Buffer
	w := NewWriter(&out)
	h := header.Of(":method", "PUT", ":path", "/p?q=1", ":authority", "host:81", "x-y", "z")
	w.WriteRequestHead(&h, Framing{Length: 3}, false)
	w.Write([]byte("abc"))
	w.Flush()
	req, err := readNetHTTPRequest(out.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != "PUT" || req.Host != "host:81" || req.URL.RequestURI() != "/p?q=1" || req.Header.Get("X-Y") != "z" || req.ContentLength != 3 {
		t.Errorf("net/http read %+v", req)
	}
}

func readNetHTTPRequest(b []byte) (*netHTTPRequest, error) {
	return httpReadRequest(bufio.NewReader(bytes.NewReader(b)))
}

func FuzzReadRequest(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
	f.Add([]byte("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nT: 1\r\n\r\n"))
	f.Add([]byte("GET http://a/b HTTP/1.0\r\nConnection: x, keep-alive\r\nX: 1\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r := NewReader(bytes.NewReader(in))
		r.MaxHeaderBytes = 1 << 10
		for i := 0; i < 4; i++ {
			var h header.Map
			var head Head
			if err := r.ReadRequest(&h, &head); err != nil {
				return
			}
			for _, fl := range h.Fields() {
				if fl.Name != strings.ToLower(fl.Name) {
					t.Fatalf("name not lowercase: %q", fl.Name)
				}
				if strings.ContainsAny(fl.Value, "\r\n\x00") {
					t.Fatalf("value with CR/LF/NUL: %q", fl.Value)
				}
			}
			if head.Body.Chunked && h.Has("content-length") {
				t.Fatal("chunked with content-length")
			}
			if _, err := io.Copy(io.Discard, r.Body(head.Body, nil)); err != nil {
				return
			}
		}
	})
}

// loopReader serves the same bytes forever.
type loopReader struct {
	b []byte
	i int
}

func (l *loopReader) Read(p []byte) (int, error) {
	n := copy(p, l.b[l.i:])
	l.i = (l.i + n) % len(l.b)
	return n, nil
}

func BenchmarkReadRequest(b *testing.B) {
	req := []byte("GET /productpage?u=normal HTTP/1.1\r\nHost: productpage:9080\r\nUser-Agent: fortio.org/fortio-1.68.2\r\nAccept: */*\r\nX-Request-Id: 5e1f0c8a-7f0e-4c1e-9d1c-3a1b2c3d4e5f\r\n\r\n")
	r := NewReader(&loopReader{b: req})
	var h header.Map
	var head Head
	b.ReportAllocs()
	b.SetBytes(int64(len(req)))
	for i := 0; i < b.N; i++ {
		if err := r.ReadRequest(&h, &head); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteResponse(b *testing.B) {
	w := NewWriter(io.Discard)
	h := header.Of(":status", "200", "content-type", "text/plain", "date", "Sun, 22 Nov 2026 01:00:00 GMT", "server", "envoy")
	body := make([]byte, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		w.WriteResponseHead(200, &h, Framing{Length: 1024}, 1, false, false)
		w.Write(body)
		w.Flush()
	}
}
