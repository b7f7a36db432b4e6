// Package route compiles an Envoy v3 RouteConfiguration into an immutable route table
// and matches requests against it, as Envoy's router does: virtual host selection by
// domain, route matching on path, headers, query parameters, gRPC content type, runtime
// fractions and dynamic metadata, and everything the chosen route then says about the
// request: the cluster (single, weighted or from a header), path and host rewrites,
// redirects and direct responses, header manipulation at every level, timeouts, and the
// retry, hash and mirror policies kept as plain data for the router and load balancer.
//
// A Table is built once by New; after that nothing touches protobuf, and matching a
// plain prefix, path or exact-header route does not allocate. A Table is immutable and
// safe for concurrent use.
//
// The package imports header, streaminfo, format and config from the proxy and nothing
// else from weft. It must not import the control plane (internal/control/...), the HTTP
// connection manager, the router filter or the upstream packages: they import it.
package route
