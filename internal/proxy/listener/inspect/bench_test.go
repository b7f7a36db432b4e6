package inspect

import (
	"crypto/tls"
	"testing"
)

func BenchmarkDetectHTTP(b *testing.B) {
	for _, bc := range []struct{ name, in string }{
		{"h2c", h2Preface},
		{"http11", "GET /productpage HTTP/1.1\r\nHost: productpage:9080\r\n\r\n"},
		{"tls", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
	} {
		in := []byte(bc.in)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				DetectHTTP(in)
			}
		})
	}
}

func BenchmarkDetectTLS(b *testing.B) {
	in := []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")
	b.ReportAllocs()
	for b.Loop() {
		DetectTLS(in)
	}
}

func BenchmarkParseClientHello(b *testing.B) {
	raw := captureHello(b, &tls.Config{
		ServerName:         "reviews.default.svc.cluster.local",
		NextProtos:         []string{"istio-peer-exchange", "istio", "h2", "http/1.1"},
		InsecureSkipVerify: true,
	})
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := ParseClientHello(raw); err != nil {
			b.Fatal(err)
		}
	}
}
