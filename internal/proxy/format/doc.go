// Package format implements Envoy's substitution format strings ("%START_TIME%
// %REQ(:PATH)% %RESPONSE_CODE% %RESPONSE_FLAGS%"), used by access logs and by header
// values in route config, and Envoy's json_format dictionaries. A format is parsed
// once into a Formatter or JSONFormatter; formatting appends to a caller's buffer and
// does not allocate for the common operators.
//
// Output follows Envoy: an absent value prints as "-" (or nothing with
// OmitEmptyValues), durations are whole milliseconds, addresses print as ip:port, and
// in JSON a value that is a single operator keeps its type and is null when absent.
//
// It imports only header and streaminfo from the proxy and must not import any other
// weft package (config, accesslog, hcm, ...): it works on plain Go values, and the
// callers turn protobuf config into a format string or a Struct first.
package format
