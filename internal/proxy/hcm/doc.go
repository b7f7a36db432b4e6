// Package hcm is Envoy's HTTP connection manager as a terminal network filter: it
// decodes HTTP/1.1 (weft's own codec) and HTTP/2 (golang.org/x/net/http2) into
// Streams, prepares request headers (x-request-id, x-forwarded-*), matches the route,
// runs the HTTP filters in config order with the router last, enforces limits and
// timeouts, and writes access logs and http.<stat_prefix>.* stats.
// It imports netfilter, httpfilter, route, http1, accesslog and stats; never listener
// or a filter package (filters register themselves).
package hcm
