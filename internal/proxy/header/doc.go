// Package header holds the proxy's HTTP header map: an ordered list of fields with
// lowercase names, pseudo-headers (":method", ":path", ":authority", ":scheme",
// ":status") first, as Envoy keeps them. Codecs, routes, filters and access logs all
// share it. It imports nothing from the proxy.
package header
