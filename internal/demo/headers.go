package demo

import "net/http"

// forwarded lists the request headers the Istio bookinfo apps copy from an inbound request
// onto every outbound call: tracing context (Zipkin B3, W3C, Lightstep, Datadog, Cloud Trace,
// gRPC, SkyWalking), the request ID Envoy uses for log and trace sampling, and the
// application's own user and session headers.
var forwarded = []string{
	"x-request-id",
	"x-ot-span-context",
	"x-datadog-trace-id",
	"x-datadog-parent-id",
	"x-datadog-sampling-priority",
	"traceparent",
	"tracestate",
	"x-cloud-trace-context",
	"grpc-trace-bin",
	"x-b3-traceid",
	"x-b3-spanid",
	"x-b3-parentspanid",
	"x-b3-sampled",
	"x-b3-flags",
	"b3",
	"sw8",
	"end-user",
	"user-agent",
	"cookie",
	"authorization",
	"jwt",
}

// ForwardedHeaders returns the names of the headers Forward copies, in lowercase.
func ForwardedHeaders() []string {
	return append([]string(nil), forwarded...)
}

// Forward copies the propagated headers present in src into dst, replacing any values dst
// already holds for them.
func Forward(dst, src http.Header) {
	for _, name := range forwarded {
		if v := src.Values(name); len(v) > 0 {
			dst[http.CanonicalHeaderKey(name)] = append([]string(nil), v...)
		}
	}
}
