// Package listener binds and accepts downstream connections for Envoy v3 Listener
// config: listener filters (original_dst, tls_inspector, http_inspector) on peeked
// bytes, the hand-off of redirected connections to the listener for their original
// destination (Istio's 15001/15006), filter-chain matching, TLS termination, and the
// network filter chain that then serves the connection. It drains: stop accepting,
// let connections finish, close what is left.
// It imports config, netfilter, secret, streaminfo, stats and listener/inspect;
// never hcm, router or a filter package.
package listener
