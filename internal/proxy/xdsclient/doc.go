// Package xdsclient is the proxy's xDS client: one ADS stream (gRPC, state of the world
// or delta) to the control plane, over which it subscribes to clusters, endpoints,
// listeners, routes and secrets. Every update is validated at the edge (Envoy's schema,
// weft's coverage, then building the runtime objects); a bad update is NACKed with the
// error and the proxy keeps serving its last good config. New clusters warm until their
// endpoints arrive and new listeners until their routes do. A lost control plane costs
// nothing but updates: the client reconnects with back-off.
// It imports the proxy's managers; never internal/control.
package xdsclient
