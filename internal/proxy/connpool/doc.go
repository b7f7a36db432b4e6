// Package connpool holds upstream connections: per-host pools for HTTP/1 (one request
// per connection at a time, idle connections reused), HTTP/2 (streams multiplexed on
// shared connections) and plain TCP, all under a cluster's circuit breakers
// (max_connections, max_pending_requests, max_requests, max_retries) whose overflows
// are counted and reported as UO. It imports header, http1 and stats, and nothing
// above them.
package connpool
