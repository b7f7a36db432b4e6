package format

import (
	"testing"
)

// istioTextFormat is Istio's default proxy access log format.
const istioTextFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
	`%RESPONSE_CODE% %RESPONSE_FLAGS% %RESPONSE_CODE_DETAILS% %CONNECTION_TERMINATION_DETAILS% ` +
	`"%UPSTREAM_TRANSPORT_FAILURE_REASON%" %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
	`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" "%REQ(X-REQUEST-ID)%" ` +
	`"%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%" %UPSTREAM_CLUSTER_RAW% %UPSTREAM_LOCAL_ADDRESS% ` +
	`%DOWNSTREAM_LOCAL_ADDRESS% %DOWNSTREAM_REMOTE_ADDRESS% %REQUESTED_SERVER_NAME% %ROUTE_NAME%` + "\n"

func benchmarkText(b *testing.B, format string) {
	f, err := Parse(format)
	if err != nil {
		b.Fatal(err)
	}
	info := fullInfo()
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0], info)
	}
	b.SetBytes(int64(len(buf)))
}

func BenchmarkDefaultFormat(b *testing.B) { benchmarkText(b, DefaultFormat) }

func BenchmarkIstioTextFormat(b *testing.B) { benchmarkText(b, istioTextFormat) }

func BenchmarkIstioJSONFormat(b *testing.B) {
	fields := map[string]any{}
	for k, v := range map[string]string{
		"start_time": "%START_TIME%", "method": "%REQ(:METHOD)%", "path": "%REQ(X-ENVOY-ORIGINAL-PATH?:PATH)%",
		"protocol": "%PROTOCOL%", "response_code": "%RESPONSE_CODE%", "response_flags": "%RESPONSE_FLAGS%",
		"response_code_details": "%RESPONSE_CODE_DETAILS%", "bytes_received": "%BYTES_RECEIVED%",
		"bytes_sent": "%BYTES_SENT%", "duration": "%DURATION%", "user_agent": "%REQ(USER-AGENT)%",
		"request_id": "%REQ(X-REQUEST-ID)%", "authority": "%REQ(:AUTHORITY)%", "upstream_host": "%UPSTREAM_HOST%",
		"upstream_cluster": "%UPSTREAM_CLUSTER_RAW%", "downstream_remote_address": "%DOWNSTREAM_REMOTE_ADDRESS%",
		"requested_server_name": "%REQUESTED_SERVER_NAME%", "route_name": "%ROUTE_NAME%",
	} {
		fields[k] = v
	}
	f, err := ParseJSON(mustStruct(b, fields), Options{})
	if err != nil {
		b.Fatal(err)
	}
	info := fullInfo()
	buf := make([]byte, 0, 2048)
	b.ReportAllocs()
	for b.Loop() {
		buf = f.Append(buf[:0], info)
	}
	b.SetBytes(int64(len(buf)))
}

func TestTextFormatDoesNotAllocate(t *testing.T) {
	for _, format := range []string{DefaultFormat, istioTextFormat} {
		f, err := Parse(format)
		if err != nil {
			t.Fatal(err)
		}
		info := fullInfo()
		buf := make([]byte, 0, 1024)
		allocs := testing.AllocsPerRun(100, func() { buf = f.Append(buf[:0], info) })
		if allocs != 0 {
			t.Errorf("Append(%q) allocates %v times per run, want 0", format[:20], allocs)
		}
	}
}
