package format

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"math/big"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

var start = time.Date(2016, 4, 15, 20, 17, 0, 310_987_654, time.UTC)

func headers(pairs ...string) *header.Map {
	m := header.Of(pairs...)
	return &m
}

// fullInfo returns an Info with every field an operator reads set.
func fullInfo() *streaminfo.Info {
	return &streaminfo.Info{
		Start:                          start,
		Protocol:                       "HTTP/2",
		ResponseCode:                   204,
		ResponseCodeDetails:            "via upstream",
		ConnectionTerminationDetails:   "idle_timeout",
		Flags:                          streaminfo.UpstreamConnectionFailure | streaminfo.UpstreamRetryLimitExceeded,
		BytesReceived:                  154,
		BytesSent:                      7,
		UpstreamBytesSent:              200,
		UpstreamBytesReceived:          300,
		LastDownstreamRxByte:           2*time.Millisecond + 500*time.Microsecond,
		FirstUpstreamTxByte:            3 * time.Millisecond,
		LastUpstreamTxByte:             4 * time.Millisecond,
		FirstUpstreamRxByte:            100 * time.Millisecond,
		LastUpstreamRxByte:             200 * time.Millisecond,
		FirstDownstreamTxByte:          101 * time.Millisecond,
		LastDownstreamTxByte:           226 * time.Millisecond,
		End:                            226*time.Millisecond + 900*time.Microsecond,
		UpstreamCluster:                "outbound|9080||reviews.default.svc.cluster.local",
		UpstreamHost:                   netip.MustParseAddrPort("10.0.2.1:80"),
		UpstreamHostname:               "reviews-v1:9080",
		UpstreamLocal:                  netip.MustParseAddrPort("10.0.0.9:43210"),
		UpstreamTransportFailureReason: "TLS error: 268435581:SSL routines",
		Attempts:                       2,
		RouteName:                      "default",
		VirtualClusterName:             "vc1",
		Downstream: streaminfo.Downstream{
			ConnectionID:        42,
			RemoteAddress:       netip.MustParseAddrPort("10.0.35.28:51234"),
			DirectRemoteAddress: netip.MustParseAddrPort("[fd00::1]:40000"),
			LocalAddress:        netip.MustParseAddrPort("10.0.0.5:9080"),
			RequestedServerName: "reviews.default.svc.cluster.local",
			TLS:                 testTLS(),
		},
		RequestHeaders: headers(":method", "POST", ":path", "/api/v1/locations", ":authority", "locations",
			"x-forwarded-for", "10.0.35.28", "user-agent", "nsq2http",
			"x-request-id", "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2", "x-empty", ""),
		ResponseHeaders:  headers(":status", "204", "x-envoy-upstream-service-time", "100"),
		ResponseTrailers: headers("grpc-status", "0"),
		Metadata: map[string]map[string]any{
			"com.test.my_filter": {
				"test_key":    "foo",
				"test_object": map[string]any{"inner_key": "bar", "n": 2.5},
				"count":       float64(3),
			},
		},
	}
}

var peerCert = &x509.Certificate{
	Raw:          []byte("peer certificate bytes"),
	SerialNumber: big.NewInt(0xabc),
	Subject:      pkix.Name{CommonName: "client", Organization: []string{"Weft"}},
	Issuer:       pkix.Name{CommonName: "Weft CA"},
	NotBefore:    time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
	NotAfter:     time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
	URIs: []*url.URL{
		{Scheme: "spiffe", Host: "cluster.local", Path: "/ns/default/sa/productpage"},
		{Scheme: "https", Host: "example.com", Path: "/a b"},
	},
	DNSNames:    []string{"a.example.com", "b.example.com"},
	IPAddresses: []net.IP{net.ParseIP("10.1.2.3"), net.ParseIP("fd00::2")},
}

func testTLS() *streaminfo.TLSInfo {
	return &streaminfo.TLSInfo{
		Version:     "TLSv1.3",
		CipherSuite: "TLS_AES_128_GCM_SHA256",
		PeerCert:    peerCert,
		LocalCert: &x509.Certificate{
			Subject: pkix.Name{CommonName: "server"},
			URIs:    []*url.URL{{Scheme: "spiffe", Host: "cluster.local", Path: "/ns/default/sa/reviews"}},
		},
	}
}

func sum256() string { s := sha256.Sum256(peerCert.Raw); return hex.EncodeToString(s[:]) }
func sum1() string   { s := sha1.Sum(peerCert.Raw); return hex.EncodeToString(s[:]) }

func TestOperators(t *testing.T) {
	empty := &streaminfo.Info{}
	tests := []struct {
		format string
		full   string // output for fullInfo()
		empty  string // output for a zero Info
	}{
		{"%START_TIME%", "2016-04-15T20:17:00.310Z", "-"},
		{"%START_TIME(%Y/%m/%dT%H:%M:%S%z %s)%", "2016/04/15T20:17:00+0000 1460751420", "-"},
		{"%START_TIME(%s.%3f)%", "1460751420.310", "-"},
		{"%START_TIME(%s.%6f|%f|%1f)%", "1460751420.310987|310987654|3", "-"},
		{"%START_TIME(%E3S|%E*S|%E0S|%Ez|%Z|%F %T)%", "00.310|00.310987654|00|+00:00|UTC|2016-04-15 20:17:00", "-"},
		{"%START_TIME(%a %A %b %B %e %j %I%p %y %C %u %w %D %R %%)%", "Fri Friday Apr April 15 106 08PM 16 20 5 5 04/15/16 20:17 %", "-"},
		{"%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%", "POST /api/v1/locations", "- -"},
		{"%REQ(x-request-id):8%|%REQ(x-empty)%|%REQ(missing)%", "cc21d9b0||-", "-|-|-"},
		{"%REQ(USER-AGENT):0%", "", "-"},
		{"%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% %RESP(:status)%", "100 204", "- -"},
		{"%TRAILER(grpc-status)% %TRAILER(missing?grpc-status):1%", "0 0", "- -"},
		{"%RESPONSE_CODE%", "204", "0"},
		{"%RESPONSE_CODE_DETAILS%", "via_upstream", "-"},
		{"%RESPONSE_CODE_DETAILS(ALLOW_WHITESPACES)%", "via upstream", "-"},
		{"%CONNECTION_TERMINATION_DETAILS%", "idle_timeout", "-"},
		{"%RESPONSE_FLAGS%", "UF,URX", "-"},
		{"%RESPONSE_FLAGS_LONG%", "UpstreamConnectionFailure,UpstreamRetryLimitExceeded", "-"},
		{"%BYTES_RECEIVED% %BYTES_SENT%", "154 7", "0 0"},
		{"%DURATION%", "226", "-"},
		{"%REQUEST_DURATION% %REQUEST_TX_DURATION%", "2 4", "- -"},
		{"%RESPONSE_DURATION% %RESPONSE_TX_DURATION%", "100 126", "- -"},
		{"%UPSTREAM_HOST%", "10.0.2.1:80", "-"},
		{"%UPSTREAM_HOST_NAME% %UPSTREAM_HOST_NAME_WITHOUT_PORT%", "reviews-v1:9080 reviews-v1", "- -"},
		{"%UPSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %UPSTREAM_REMOTE_PORT%", "10.0.2.1 80", "- -"},
		{"%UPSTREAM_CLUSTER% %UPSTREAM_CLUSTER_RAW%",
			"outbound|9080||reviews.default.svc.cluster.local outbound|9080||reviews.default.svc.cluster.local", "- -"},
		{"%UPSTREAM_LOCAL_ADDRESS% %UPSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %UPSTREAM_LOCAL_PORT%",
			"10.0.0.9:43210 10.0.0.9 43210", "- - -"},
		{"%UPSTREAM_TRANSPORT_FAILURE_REASON%", "TLS_error:_268435581:SSL_routines", "-"},
		{"%DOWNSTREAM_REMOTE_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_REMOTE_PORT%",
			"10.0.35.28:51234 10.0.35.28 51234", "- - -"},
		{"%DOWNSTREAM_DIRECT_REMOTE_ADDRESS% %DOWNSTREAM_DIRECT_REMOTE_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_DIRECT_REMOTE_PORT%",
			"[fd00::1]:40000 fd00::1 40000", "- - -"},
		{"%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_LOCAL_ADDRESS_WITHOUT_PORT% %DOWNSTREAM_LOCAL_PORT%",
			"10.0.0.5:9080 10.0.0.5 9080", "- - -"},
		{"%REQUESTED_SERVER_NAME%", "reviews.default.svc.cluster.local", "-"},
		{"%ROUTE_NAME% %VIRTUAL_CLUSTER_NAME%", "default vc1", "- -"},
		{"%PROTOCOL%", "HTTP/2", "-"},
		{"%UPSTREAM_REQUEST_ATTEMPT_COUNT% %CONNECTION_ID%", "2 42", "0 0"},
		{"%DYNAMIC_METADATA(com.test.my_filter)%", `{"count":3,"test_key":"foo","test_object":{"inner_key":"bar","n":2.5}}`, "-"},
		{"%DYNAMIC_METADATA(com.test.my_filter:test_key)%", "foo", "-"},
		{"%DYNAMIC_METADATA(com.test.my_filter:test_object)%", `{"inner_key":"bar","n":2.5}`, "-"},
		{"%DYNAMIC_METADATA(com.test.my_filter:test_object:inner_key)%", "bar", "-"},
		{"%DYNAMIC_METADATA(com.unknown_filter)% %DYNAMIC_METADATA(com.test.my_filter:unknown_key)%", "- -", "- -"},
		{"%DYNAMIC_METADATA(com.test.my_filter):25%", `{"count":3,"test_key":"fo`, "-"},
		{"%DOWNSTREAM_TLS_VERSION% %DOWNSTREAM_TLS_CIPHER%", "TLSv1.3 TLS_AES_128_GCM_SHA256", "- -"},
		{"%DOWNSTREAM_PEER_URI_SAN%", "spiffe://cluster.local/ns/default/sa/productpage,https://example.com/a%20b", "-"},
		{"%DOWNSTREAM_LOCAL_URI_SAN%", "spiffe://cluster.local/ns/default/sa/reviews", "-"},
		{"%DOWNSTREAM_PEER_SUBJECT% %DOWNSTREAM_LOCAL_SUBJECT%", "CN=client,O=Weft CN=server", "- -"},
		{"%DOWNSTREAM_PEER_ISSUER% %DOWNSTREAM_PEER_SERIAL%", "CN=Weft CA 0abc", "- -"},
		{"%DOWNSTREAM_PEER_DNS_SAN% %DOWNSTREAM_LOCAL_DNS_SAN%", "a.example.com,b.example.com -", "- -"},
		{"%DOWNSTREAM_PEER_IP_SAN%", "10.1.2.3,fd00::2", "-"},
		{"%DOWNSTREAM_PEER_FINGERPRINT_256%|%DOWNSTREAM_PEER_FINGERPRINT_1%", sum256() + "|" + sum1(), "-|-"},
		{"%DOWNSTREAM_PEER_CERT_V_START% %DOWNSTREAM_PEER_CERT_V_END(%Y)%", "2024-01-02T03:04:05.000Z 2025", "- -"},
		{"100%% %PROTOCOL%%%", "100% HTTP/2%", "100% -%"},
		{"%PROTOCOL()%", "HTTP/2", "-"},
		{"no operators", "no operators", "no operators"},
		{"", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			f, err := Parse(tt.format)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.full, f.Format(fullInfo())); diff != "" {
				t.Errorf("full info (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.empty, f.Format(empty)); diff != "" {
				t.Errorf("empty info (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDefaultFormat(t *testing.T) {
	f, err := Parse(DefaultFormat)
	if err != nil {
		t.Fatal(err)
	}
	want := `[2016-04-15T20:17:00.310Z] "POST /api/v1/locations HTTP/2" 204 UF,URX 154 7 226 100 "10.0.35.28" ` +
		`"nsq2http" "cc21d9b0-cf5c-432b-8c7e-98aeb7988cd2" "locations" "10.0.2.1:80"` + "\n"
	if diff := cmp.Diff(want, f.Format(fullInfo())); diff != "" {
		t.Errorf("default format (-want +got):\n%s", diff)
	}
	tcp := &streaminfo.Info{Start: start, BytesReceived: 10, BytesSent: 20, End: 5 * time.Second,
		UpstreamHost: netip.MustParseAddrPort("10.0.2.1:80")}
	want = `[2016-04-15T20:17:00.310Z] "- - -" 0 - 10 20 5000 - "-" "-" "-" "-" "10.0.2.1:80"` + "\n"
	if diff := cmp.Diff(want, f.Format(tcp)); diff != "" {
		t.Errorf("default format, tcp (-want +got):\n%s", diff)
	}
}

func TestOmitEmptyValues(t *testing.T) {
	f, err := ParseText(`"%PROTOCOL%" %RESPONSE_CODE% "%REQ(missing)%"`, Options{OmitEmptyValues: true})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`"" 0 ""`, f.Format(&streaminfo.Info{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestStatic(t *testing.T) {
	f, err := Parse("plain 100%% text")
	if err != nil {
		t.Fatal(err)
	}
	if s, ok := f.Static(); !ok || s != "plain 100% text" {
		t.Errorf("Static() = %q, %v; want %q, true", s, ok, "plain 100% text")
	}
	f, err = Parse("%PROTOCOL%")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Static(); ok {
		t.Error("Static() = true for a format with an operator")
	}
}

func TestDurationWhileRunning(t *testing.T) {
	f, err := Parse("%DURATION%")
	if err != nil {
		t.Fatal(err)
	}
	info := &streaminfo.Info{Start: time.Now().Add(-1500 * time.Millisecond)}
	got := f.Format(info)
	if got < "1500" || len(got) != 4 {
		t.Errorf("DURATION of a running stream = %q, want about 1500", got)
	}
}

func TestEnvironmentAndHostname(t *testing.T) {
	t.Setenv("WEFT_FORMAT_TEST", "some-value")
	f, err := Parse("%ENVIRONMENT(WEFT_FORMAT_TEST)% %ENVIRONMENT(WEFT_FORMAT_TEST):4% %ENVIRONMENT(WEFT_UNSET_VAR)%")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff("some-value some -", f.Format(&streaminfo.Info{})); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	host, err := os.Hostname()
	if err != nil {
		t.Skip("no hostname")
	}
	f, err = Parse("%HOSTNAME%")
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Format(&streaminfo.Info{}); got != host {
		t.Errorf("HOSTNAME = %q, want %q", got, host)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		format string
		want   string // substring of the error
	}{
		{"%FOO%", "unsupported command operator %FOO%"},
		{"%UPSTREAM_WIRE_BYTES_SENT%", "unsupported command operator %UPSTREAM_WIRE_BYTES_SENT%"},
		{"abc %PROTOCOL", "position 4"},
		{"%", "position 0"},
		{"%protocol%", "no valid command"},
		{"%REQ%", "%REQ% requires an argument"},
		{"%REQ()%", "%REQ% requires an argument"},
		{"%PROTOCOL(x)%", "%PROTOCOL% takes no argument"},
		{"%PROTOCOL:10%", "%PROTOCOL% does not allow a length"},
		{"%START_TIME:10%", "%START_TIME% does not allow a length"},
		{"%REQ(a?b?c)%", "more than one alternative header"},
		{"%REQ(a b)%", "invalid character in header name"},
		{"%REQ(a\nb)%", "malformed argument"},
		{"%REQ(a", "malformed argument"},
		{"%REQ(a):x%", "malformed argument"},
		{"%START_TIME(%Q)%", `unsupported time specifier "%Q"`},
		{"%START_TIME(%n)%", "newline"},
		{"%START_TIME(%)%", "ends with '%'"},
		{"%RESPONSE_CODE_DETAILS(X)%", "ALLOW_WHITESPACES"},
	}
	for _, tt := range tests {
		t.Run(tt.format, func(t *testing.T) {
			_, err := Parse(tt.format)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want error containing %q", tt.format, tt.want)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) error = %q, want it to contain %q", tt.format, err, tt.want)
			}
		})
	}
}

func TestScanCommandShortestArgument(t *testing.T) {
	tests := []struct {
		in      string
		want    command
		wantLen int
	}{
		{"%REQ(a)%rest", command{name: "REQ", arg: "a", maxLen: -1}, 8},
		{"%REQ(a):12%rest", command{name: "REQ", arg: "a", maxLen: 12}, 11},
		{"%REQ(a)b)%", command{name: "REQ", arg: "a)b", maxLen: -1}, 10},
		{"%START_TIME(%s.%3f)%", command{name: "START_TIME", arg: "%s.%3f", maxLen: -1}, 20},
		{"%A%", command{name: "A", maxLen: -1}, 3},
	}
	for _, tt := range tests {
		got, n, err := scanCommand(tt.in)
		if err != nil {
			t.Errorf("scanCommand(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(command{})); diff != "" || n != tt.wantLen {
			t.Errorf("scanCommand(%q) = %+v, %d; want %+v, %d", tt.in, got, n, tt.want, tt.wantLen)
		}
	}
}

func TestStartTimeLocal(t *testing.T) {
	f, err := Parse("%START_TIME_LOCAL%")
	if err != nil {
		t.Fatal(err)
	}
	want := start.Local().Format("2006-01-02T15:04:05.000-0700")
	if got := f.Format(fullInfo()); got != want {
		t.Errorf("START_TIME_LOCAL = %q, want %q", got, want)
	}
}

func TestConcurrentParseAndFormat(t *testing.T) {
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 50 {
				f, err := Parse(DefaultFormat + "%PROTOCOL% %RESPONSE_CODE% %REQ(a):3%")
				if err != nil {
					t.Error(err)
					return
				}
				f.Format(fullInfo())
			}
		}()
	}
	for range 4 {
		<-done
	}
}
