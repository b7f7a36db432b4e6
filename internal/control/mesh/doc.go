// Package mesh holds the control plane's immutable view of the mesh — a Snapshot of
// every service, endpoint and config object at one moment — and the per-node facts
// (Node) the generators read. Generators are pure functions of (Node, Snapshot).
// It imports config; never ads, xdsgen or the proxy.
package mesh
