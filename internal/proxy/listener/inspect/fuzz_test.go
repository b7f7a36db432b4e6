package inspect

import (
	"crypto/tls"
	"errors"
	"testing"
)

func FuzzParseClientHello(f *testing.F) {
	for _, cfg := range []*tls.Config{
		{ServerName: "example.com", NextProtos: []string{"h2", "http/1.1"}},
		{ServerName: "a.b", MaxVersion: tls.VersionTLS12},
	} {
		cfg.InsecureSkipVerify = true
		raw := captureHello(f, cfg)
		f.Add(raw)
		f.Add(refragment(f, raw, 50))
	}
	f.Add(newHello().ext(extServerName, sniExt("x")).ext(extSupportedVersions, []byte{2, 3, 4}).record())
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte{0x16, 3, 1, 0, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseClientHello(b)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error %v wraps no sentinel", err)
			}
			return
		}
		if len(h.ServerName) > maxHostNameLen {
			t.Errorf("server name of %d bytes", len(h.ServerName))
		}
		for _, p := range h.ALPN {
			if p == "" {
				t.Error("empty alpn protocol")
			}
		}
		// A prefix of a valid hello is either too short or holds the whole hello.
		for _, i := range []int{0, 1, len(b) / 3, len(b) / 2, len(b) - 1} {
			if _, err := ParseClientHello(b[:max(i, 0)]); err != nil && !errors.Is(err, ErrNeedMore) {
				t.Fatalf("prefix of %d bytes: %v", i, err)
			}
		}
	})
}

func isSentinel(err error) bool {
	for _, s := range []error{ErrNeedMore, ErrNotTLS, ErrMalformed, ErrTooLarge} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

func FuzzDetectHTTP(f *testing.F) {
	for _, s := range []string{
		h2Preface, "GET / HTTP/1.1\r\n", "CONNECT a:1 HTTP/1.0\n", "GET /", "PRI * HTTP/1.1\r\n",
		"\x16\x03\x01", "",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		proto, more := DetectHTTP(b)
		if proto != "" && more {
			t.Fatalf("%q: protocol %q with need more", b, proto)
		}
		switch proto {
		case "", ProtoH2C, ProtoHTTP10, ProtoHTTP11:
		default:
			t.Fatalf("%q: unknown protocol %q", b, proto)
		}
		// Once a prefix decides, more bytes do not change the answer.
		for _, i := range []int{1, len(b) / 2, len(b) - 1} {
			if i < 0 || i > len(b) {
				continue
			}
			if p, m := DetectHTTP(b[:i]); !m && p != proto {
				t.Fatalf("prefix %q decided %q, whole %q decided %q", b[:i], p, b, proto)
			}
		}
		tr, moreTLS := DetectTLS(b)
		if tr == TransportTLS && proto != "" {
			t.Fatalf("%q is both tls and %s", b, proto)
		}
		_ = moreTLS
	})
}
