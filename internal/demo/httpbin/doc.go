// Package httpbin is a small subset of httpbin (the kong/httpbin image Istio's samples use):
// /get, /headers, /ip, /user-agent, /anything, /status/<codes> and /delay/<seconds>, with
// httpbin's JSON shapes, so that the mesh tasks written against it (header manipulation,
// fault injection, retries, timeouts, circuit breaking) work against weft's demo. It imports
// only the standard library and internal/demo.
package httpbin
