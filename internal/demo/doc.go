// Package demo holds what weft's built-in demo apps share: the list of request headers the
// Istio samples propagate, an outbound HTTP client that honours HTTP_PROXY for plain service
// names, and serving a handler until a context ends.
//
// The apps themselves live in the sub-packages (bookinfo, httpbin, sleep, curl). They stand in
// for the container images of Istio's samples when `weft up` runs a mesh on one machine, so
// they must stay small and import only the standard library: nothing from the proxy or the
// control plane.
package demo
