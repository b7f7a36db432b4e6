// Package fault is the fault injection HTTP filter (envoy.filters.http.fault): for the
// requests a config selects (headers, upstream cluster, downstream nodes) it injects a
// fixed or header-given delay, an HTTP or gRPC abort, or a delay followed by an abort,
// each for a percentage of requests that runtime keys may override, under a limit on
// the faults active at once. Delays block only the stream and end early when the
// stream's context ends (an HTTP/2 client resetting the stream; the connection manager
// does not yet cancel it when an HTTP/1 client hangs up). A route's typed_per_filter_config replaces the filter's config for
// that route, which is how Istio's VirtualService fault arrives.
//
// Faults set the DI and FI response flags and count http.<stat_prefix>.fault.* stats.
// It imports httpfilter, header, route, runtime, streaminfo, config and stats; never
// hcm, the router or another filter.
package fault
