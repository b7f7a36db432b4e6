// Package bookinfo is a small Go rendition of Istio's bookinfo sample: productpage, details,
// reviews (v1, v2, v3) and ratings, with the originals' URLs, JSON, page markup, timeouts,
// error texts and header propagation, so that routing, fault-injection and tracing demos
// written for the originals work against it unchanged.
//
// Each service is an http.Handler built from a Config, which reads the same environment
// variables as the original container images. The package imports only the standard library
// and internal/demo.
package bookinfo
