// Package routecheck is weft's take on Envoy's router_check_tool: it loads a route
// configuration and a test file (the tool's Validation schema, in proto JSON or YAML),
// routes each test request through weft's route table, compares every field the test
// asks about, and reports results and route coverage the way Envoy's tool does. It is
// the engine behind "weft route-check" and a conformance harness for package route.
//
// It imports route, header, streaminfo and config from the proxy. It must not import the
// control plane, the connection manager, the router filter or upstream packages.
package routecheck
