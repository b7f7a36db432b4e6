package inspect

import (
	"crypto/tls"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseClientHelloFromCryptoTLS(t *testing.T) {
	tests := []struct {
		name string
		cfg  *tls.Config
		want Hello
	}{{
		name: "tls13 sni alpn",
		cfg:  &tls.Config{ServerName: "reviews.default.svc.cluster.local", NextProtos: []string{"h2", "http/1.1"}},
		want: Hello{
			ServerName:        "reviews.default.svc.cluster.local",
			ALPN:              []string{"h2", "http/1.1"},
			Version:           tls.VersionTLS12,
			SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
		},
	}, {
		name: "tls12 only",
		cfg:  &tls.Config{ServerName: "example.com", NextProtos: []string{"http/1.1"}, MaxVersion: tls.VersionTLS12},
		want: Hello{
			ServerName:        "example.com",
			ALPN:              []string{"http/1.1"},
			Version:           tls.VersionTLS12,
			SupportedVersions: []uint16{tls.VersionTLS12},
		},
	}, {
		name: "tls13 only no alpn",
		cfg:  &tls.Config{ServerName: "a.b", MinVersion: tls.VersionTLS13},
		want: Hello{ServerName: "a.b", Version: tls.VersionTLS12, SupportedVersions: []uint16{tls.VersionTLS13}},
	}, {
		name: "no sni for an ip address",
		cfg:  &tls.Config{ServerName: "10.0.0.5", NextProtos: []string{"istio-peer-exchange", "istio"}},
		want: Hello{
			ALPN:              []string{"istio-peer-exchange", "istio"},
			Version:           tls.VersionTLS12,
			SupportedVersions: []uint16{tls.VersionTLS13, tls.VersionTLS12},
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.InsecureSkipVerify = true
			raw := captureHello(t, tt.cfg)
			got, err := ParseClientHello(raw)
			if err != nil {
				t.Fatalf("ParseClientHello: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("hello (-want +got):\n%s", diff)
			}
			oracle := parseWithGo(t, raw)
			mine := goHello{ServerName: got.ServerName, ALPN: got.ALPN, Versions: got.SupportedVersions}
			if diff := cmp.Diff(oracle, mine); diff != "" {
				t.Errorf("differs from crypto/tls's server (-go +mine):\n%s", diff)
			}
			if tr, more := DetectTLS(raw); tr != TransportTLS || more {
				t.Errorf("DetectTLS = %q, %v; want tls", tr, more)
			}
		})
	}
}

func TestParseClientHelloNeedsMoreForEveryPrefix(t *testing.T) {
	raw := captureHello(t, &tls.Config{ServerName: "example.com", NextProtos: []string{"h2"}, InsecureSkipVerify: true})
	for _, size := range []int{1 << 14, 1000, 7, 1} {
		b := raw
		if size < 1<<14 {
			b = refragment(t, raw, size)
		}
		t.Run(fmt.Sprintf("records of %d", size), func(t *testing.T) {
			stride := 1
			if size == 1 { // every prefix would take long under the race detector
				stride = 7
			}
			for i := 0; i < len(b); i += stride {
				if _, err := ParseClientHello(b[:i]); !errors.Is(err, ErrNeedMore) {
					t.Fatalf("prefix of %d/%d bytes: err = %v, want ErrNeedMore", i, len(b), err)
				}
			}
			got, err := ParseClientHello(append(b, "trailing bytes"...))
			if err != nil {
				t.Fatalf("whole hello: %v", err)
			}
			if got.ServerName != "example.com" || len(got.ALPN) != 1 {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestParseClientHelloLarge(t *testing.T) {
	// A hello of about 20 KB: crypto/tls splits it over two records.
	var protos []string
	for i := range 80 {
		protos = append(protos, fmt.Sprintf("proto-%03d-%s", i, strings.Repeat("x", 240)))
	}
	raw := captureHello(t, &tls.Config{ServerName: "big.example", NextProtos: protos, InsecureSkipVerify: true})
	if len(raw) <= recordHeaderLen+maxPlaintextLen {
		t.Fatalf("hello of %d bytes fits one record; the test wants more", len(raw))
	}
	if _, err := ParseClientHello(raw); !errors.Is(err, ErrTooLarge) {
		t.Errorf("default limit: err = %v, want ErrTooLarge", err)
	}
	// Arriving in reads of 4 KiB, it needs more until the last one.
	for n := 4096; ; n += 4096 {
		got, err := ParseClientHelloLimit(raw[:min(n, len(raw))], 64*1024)
		if n < len(raw) {
			if !errors.Is(err, ErrNeedMore) {
				t.Fatalf("%d bytes: err = %v, want ErrNeedMore", n, err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("limit 64 KiB: %v", err)
		}
		if diff := cmp.Diff(protos, got.ALPN); diff != "" || got.ServerName != "big.example" {
			t.Errorf("server name %q, alpn diff:\n%s", got.ServerName, diff)
		}
		break
	}
}

func TestParseClientHelloErrors(t *testing.T) {
	valid := newHello().ext(extServerName, sniExt("a.example")).record()
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"empty", nil, ErrNeedMore},
		{"record header only", valid[:5], ErrNeedMore},
		{"http request", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), ErrNotTLS},
		{"h2 preface", []byte(h2Preface), ErrNotTLS},
		{"one byte not tls", []byte{0x47}, ErrNotTLS},
		{"alert record", []byte{0x15, 3, 3, 0, 2, 2, 40}, ErrNotTLS},
		{"sslv2 style", []byte{0x80, 0x2e, 0x01, 0x00, 0x02}, ErrNotTLS},
		{"wrong major version", []byte{0x16, 2, 0, 0, 4}, ErrNotTLS},
		{"server hello", []byte{0x16, 3, 3, 0, 4, 2, 0, 0, 0}, ErrNotTLS},
		{"zero length record", []byte{0x16, 3, 1, 0, 0}, ErrMalformed},
		{"oversized record", []byte{0x16, 3, 1, 0x40, 0x01}, ErrMalformed},
		{"hello over limit", []byte{0x16, 3, 1, 0x40, 0x00, 1, 0x00, 0x40, 0x00}, ErrTooLarge},
		{"empty body", []byte{0x16, 3, 1, 0, 4, 1, 0, 0, 0}, ErrMalformed},
		{"second record not handshake", append(refragment(t, valid, 10)[:15], 0x17, 3, 3, 0, 1, 0), ErrMalformed},
		{"no cipher suites", func() []byte { h := newHello(); h.cipherSuites = nil; return h.record() }(), ErrMalformed},
		{"odd cipher suites", func() []byte { h := newHello(); h.cipherSuites = []byte{1, 2, 3}; return h.record() }(), ErrMalformed},
		{"no compression", func() []byte { h := newHello(); h.compression = nil; return h.record() }(), ErrMalformed},
		{"long session id", func() []byte { h := newHello(); h.sessionID = make([]byte, 33); return h.record() }(), ErrMalformed},
		{"two sni names", newHello().ext(extServerName, sniExt("a", "b")).record(), ErrMalformed},
		{"empty sni", newHello().ext(extServerName, sniExt("")).record(), ErrMalformed},
		{"sni with nul", newHello().ext(extServerName, sniExt("a\x00b")).record(), ErrMalformed},
		{"sni too long", newHello().ext(extServerName, sniExt(strings.Repeat("a", 256))).record(), ErrMalformed},
		{"empty alpn name", newHello().ext(extALPN, alpnExt("h2", "")).record(), ErrMalformed},
		{"empty alpn list", newHello().ext(extALPN, alpnExt()).record(), ErrMalformed},
		{"bad alpn length", newHello().ext(extALPN, []byte{0, 9, 2, 'h', '2'}).record(), ErrMalformed},
		{"odd versions", newHello().ext(extSupportedVersions, []byte{3, 3, 4, 3}).record(), ErrMalformed},
		{"repeated extension", newHello().ext(23, nil).ext(23, nil).record(), ErrMalformed},
		{"truncated", valid[:len(valid)-1], ErrNeedMore},
		{"extension overrun", func() []byte { h := newHello(); h.exts = [][]byte{{0, 23, 0, 5, 1}}; return h.record() }(), ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseClientHello(tt.in)
			if !errors.Is(err, tt.want) {
				t.Errorf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestParseClientHelloBuilt(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Hello
	}{{
		name: "no extensions",
		in:   func() []byte { h := newHello(); h.noExtensions = true; return h.record() }(),
		want: Hello{Version: 0x0303},
	}, {
		name: "empty extensions",
		in:   newHello().record(),
		want: Hello{Version: 0x0303},
	}, {
		name: "grease versions left out",
		in:   newHello().ext(extSupportedVersions, []byte{6, 0x3a, 0x3a, 3, 4, 3, 3}).ext(0x0a0a, nil).record(),
		want: Hello{Version: 0x0303, SupportedVersions: []uint16{0x0304, 0x0303}},
	}, {
		name: "unknown extensions skipped",
		in:   newHello().ext(0xff01, []byte{0}).ext(extALPN, alpnExt("h2")).ext(extServerName, sniExt("x.y")).record(),
		want: Hello{Version: 0x0303, ServerName: "x.y", ALPN: []string{"h2"}},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientHello(tt.in)
			if err != nil {
				t.Fatalf("ParseClientHello: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("hello (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHelloMaxVersion(t *testing.T) {
	if v := (Hello{Version: 0x0301}).MaxVersion(); v != 0x0301 {
		t.Errorf("without supported_versions: %#x", v)
	}
	if v := (Hello{Version: 0x0303, SupportedVersions: []uint16{0x0303, 0x0304}}).MaxVersion(); v != 0x0304 {
		t.Errorf("with supported_versions: %#x", v)
	}
}

func TestDetectTLS(t *testing.T) {
	tests := []struct {
		in       string
		want     string
		needMore bool
	}{
		{"", "", true},
		{"\x16", "", true},
		{"\x16\x03\x01\x02", "", true},
		{"\x16\x03\x01\x02\x00", "", true},
		{"\x16\x03\x01\x02\x00\x01", TransportTLS, false},
		{"\x16\x03\x03\x00\x10\x01rest", TransportTLS, false},
		{"\x16\x03\x01\x00\x00\x01", TransportRawBuffer, false},
		{"\x16\x03\x01\x41\x00", TransportRawBuffer, false},
		{"\x16\x03\x01\x02\x00\x02", TransportRawBuffer, false},
		{"\x16\x02", TransportRawBuffer, false},
		{"GET / HTTP/1.1\r\n", TransportRawBuffer, false},
		{"\x00", TransportRawBuffer, false},
	}
	for _, tt := range tests {
		got, more := DetectTLS([]byte(tt.in))
		if got != tt.want || more != tt.needMore {
			t.Errorf("DetectTLS(%q) = %q, %v; want %q, %v", tt.in, got, more, tt.want, tt.needMore)
		}
	}
}
