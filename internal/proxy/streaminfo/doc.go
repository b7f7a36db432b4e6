// Package streaminfo records what happened to one downstream request or connection:
// timings, byte counts, the upstream chosen, the response code and Envoy's response
// flags. Codecs, filters and the router fill it in; access logs and stats read it.
// It imports nothing from the proxy except header.
package streaminfo
