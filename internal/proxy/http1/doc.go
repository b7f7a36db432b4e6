// Package http1 is weft's HTTP/1.x codec: it parses request and response heads into
// header.Map with one allocation per head, reads Content-Length and chunked bodies with
// trailers, and writes heads and bodies through a reusable buffer. It is strict where
// laxness lets requests be smuggled (conflicting lengths, whitespace before colons,
// obsolete line folding) and reports every rejection with the status Envoy would send.
// It imports only header from the proxy.
package http1
