// Package hcm is Envoy's HTTP connection manager as a terminal network filter: it
// decodes HTTP/1.1 (package http1) and HTTP/2 (package h2), weft's own codecs, into
// Streams, prepares request headers (x-request-id, x-forwarded-*), matches the route,
// runs the HTTP filters in config order with the router last, enforces limits and
// timeouts, and writes access logs and http.<stat_prefix>.* stats.
// It imports netfilter, httpfilter, route, http1, h2, accesslog and stats; never listener
// or a filter package (filters register themselves).
package hcm
