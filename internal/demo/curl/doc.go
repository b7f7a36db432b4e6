// Package curl is a tiny curl for tests and demos in a mesh that has no curl of its own: one
// request with curl's most used flags (-X, -H, -d, -i, -f, -w, -m), sent through HTTP_PROXY
// as curl would. It imports only the standard library and internal/demo.
package curl
