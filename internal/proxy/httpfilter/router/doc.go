// Package router is the terminal HTTP filter (envoy.filters.http.router): it answers
// redirect and direct-response routes, picks the cluster and host, takes a connection
// from the host's pool under the circuit breakers, forwards the request over HTTP/1.1
// or HTTP/2 and streams the response back, naming every failure with Envoy's response
// flag and counting it in the cluster's stats.
// It imports httpfilter, route, upstream, connpool and the codecs.
package router
