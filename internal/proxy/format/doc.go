// Package format implements Envoy's substitution format strings ("%START_TIME%
// %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%"), used by access logs and by header
// values in route config. A format is parsed once into a Formatter; formatting appends
// to a caller's buffer and does not allocate for the common operators.
// It imports only header and streaminfo from the proxy.
package format
