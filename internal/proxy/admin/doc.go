// Package admin is the proxy's admin API: the HTTP endpoints of Envoy's admin
// interface (/clusters, /config_dump, /stats, /server_info, /logging, /runtime,
// /drain_listeners, /quitquitquit, ...) with Envoy's paths, parameters, status codes
// and output formats, so that istioctl, pilot-agent and operators' scripts work
// against weft as they do against Envoy.
//
// A Server reads the proxy's managers (stats, clusters, listeners, secrets, access
// logs, runtime) through their exported API and changes the process only through the
// callbacks in Deps (drain, quit) and the few shared values it is given (the log
// level, the health-check-failed flag). Endpoints that change state answer 405 unless
// called with POST, as Envoy does. JSON is printed the way Envoy prints protos: proto
// field names, one-space indentation, Any with its type URL.
//
// Where Envoy reports facts weft does not have, the package maps the closest Go
// ones; each mapping is documented on its handler (/memory, /contention, the
// profilers, /stats/recentlookups).
//
// The package imports the proxy's managers, internal/stats and the Envoy API types.
// It must not import internal/control, Kubernetes or inject, and nothing imports it
// but the proxy's wiring.
package admin
