// Package ads is weft's xDS server: the Aggregated Discovery Service that istiod's Pilot
// is, on one gRPC port, in both the state-of-the-world (StreamAggregatedResources) and
// the incremental (DeltaAggregatedResources) variants.
//
// Config and registry events are debounced (100 ms quiet, 10 s at most, istiod's
// PILOT_DEBOUNCE_AFTER / PILOT_DEBOUNCE_MAX); then one immutable mesh.Snapshot is built
// and every connected node is queued for a push. A push regenerates, per node and per
// watched type, what a pure Generator makes of (node, snapshot), hashes each resource and
// sends only what changed since the node was last sent it: an endpoints-only event
// regenerates EDS alone, and a node whose resources hash the same gets nothing. Pushes go
// out in the order Envoy warms resources in: CDS, EDS, LDS, RDS, then the rest.
//
// Per connection the server keeps the parsed node, the watched type URLs with their
// resource names (wildcard for LDS and CDS by default, named for RDS and EDS), a hash per
// resource the node holds, the version and nonce last sent, the version and nonce last
// ACKed and the last NACK with its error detail. A NACK leaves the node on its last good
// config: nothing is resent until the generated resources change.
//
// The server exposes istiod's metrics (pilot_xds, pilot_xds_pushes, pilot_total_xds_rejects,
// ...) and debug endpoints (/debug/syncz, /debug/adsz, /debug/configz, /debug/registryz,
// /debug/config_dump) on one HTTP handler, served on the monitoring port (15014).
//
// The package imports config, registry and mesh for their types; it never imports xdsgen,
// the stores or the proxy. The generator and the snapshot builder come in through the
// small Generator and SnapshotSource interfaces.
package ads
