package inspect

import (
	"strings"
	"testing"
)

func TestDetectHTTP(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     string
		needMore bool
	}{
		{"empty", "", "", true},
		{"h2 preface", h2Preface, ProtoH2C, false},
		{"h2 preface and frames", h2Preface + "\x00\x00\x12\x04", ProtoH2C, false},
		{"h2 preface prefix", "PRI * HTTP/2.0\r\n", "", true},
		{"get 1.1", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ProtoHTTP11, false},
		{"get 1.0", "GET /index.html HTTP/1.0\r\n", ProtoHTTP10, false},
		{"bare lf", "POST /x HTTP/1.1\n", ProtoHTTP11, false},
		{"cr only", "PUT /x HTTP/1.0\r", ProtoHTTP10, false},
		{"connect", "CONNECT reviews:9080 HTTP/1.1\r\n", ProtoHTTP11, false},
		{"webdav", "PROPFIND /dav HTTP/1.1\r\n", ProtoHTTP11, false},
		{"dashed method", "VERSION-CONTROL /v HTTP/1.1\r\n", ProtoHTTP11, false},
		{"pri as http1", "PRI / HTTP/1.1\r\n", ProtoHTTP11, false},
		{"one byte", "G", "", true},
		{"method", "DELETE", "", true},
		{"method and space", "GET ", "", true},
		{"target", "GET /reviews/0", "", true},
		{"version prefix", "GET / HTTP/1.", "", true},
		{"version", "GET / HTTP/1.1", "", true},
		{"lowercase method", "get / HTTP/1.1\r\n", "", false},
		{"unknown method", "FOO / HTTP/1.1\r\n", "", false},
		{"method too long", "UPDATEREDIRECTREFS / HTTP/1.1\r\n", "", false},
		{"unknown method early", "GEX", "", false},
		{"leading crlf", "\r\nGET / HTTP/1.1\r\n", "", false},
		{"leading space", " GET / HTTP/1.1\r\n", "", false},
		{"http 0.9", "GET /\r\n", "", false},
		{"empty target", "GET  HTTP/1.1\r\n", "", false},
		{"four fields", "GET / HTTP/1.1 x\r\n", "", false},
		{"http 2 version", "GET / HTTP/2.0\r\n", "", false},
		{"http 1.2", "GET / HTTP/1.2\r\n", "", false},
		{"lowercase version", "GET / http/1.1\r\n", "", false},
		{"control byte in target", "GET /\x01 HTTP/1.1\r\n", "", false},
		{"tls", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", "", false},
		{"response", "HTTP/1.1 200 OK\r\n", "", false},
		{"binary", "\x00\x00\x00\x00", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, more := DetectHTTP([]byte(tt.in))
			if got != tt.want || more != tt.needMore {
				t.Errorf("DetectHTTP(%q) = %q, %v; want %q, %v", tt.in, got, more, tt.want, tt.needMore)
			}
		})
	}
}

func TestDetectHTTPGivesUpAtMaxInspectSize(t *testing.T) {
	line := "GET /" + strings.Repeat("a", MaxHTTPInspectSize)
	if got, more := DetectHTTP([]byte(line[:MaxHTTPInspectSize-1])); got != "" || !more {
		t.Errorf("below the limit: %q, %v; want need more", got, more)
	}
	if got, more := DetectHTTP([]byte(line)); got != "" || more {
		t.Errorf("at the limit: %q, %v; want not http", got, more)
	}
	long := line[:MaxHTTPInspectSize-20] + " HTTP/1.1\r\n"
	if got, _ := DetectHTTP([]byte(long)); got != ProtoHTTP11 {
		t.Errorf("long line within the limit: %q", got)
	}
}

func TestDetectHTTPDoesNotAllocate(t *testing.T) {
	inputs := [][]byte{[]byte(h2Preface), []byte("GET / HTTP/1.1\r\n"), []byte("GET /abc"), []byte("\x16\x03\x01")}
	for _, in := range inputs {
		if n := testing.AllocsPerRun(100, func() { DetectHTTP(in) }); n != 0 {
			t.Errorf("DetectHTTP(%q): %v allocations", in, n)
		}
	}
}

func TestDetectTLSDoesNotAllocate(t *testing.T) {
	in := []byte("\x16\x03\x01\x02\x00\x01")
	if n := testing.AllocsPerRun(100, func() { DetectTLS(in) }); n != 0 {
		t.Errorf("DetectTLS: %v allocations", n)
	}
}
