// Package netfilter defines network (L4) filters — a Handler serving one downstream
// connection, built by a factory that wraps the next filter of the chain — and their
// registry keyed by Envoy type URL. Terminal filters (http_connection_manager,
// tcp_proxy) serve the connection; others (rate limits, RBAC) decide whether to pass
// it on. Each filter lives in its own package and registers itself in init.
// It imports streaminfo, upstream, accesslog and stats; never listener or a filter.
package netfilter
