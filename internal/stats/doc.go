// Package stats holds counters, gauges and histograms under Envoy's dotted names
// ("cluster.<name>.upstream_rq_total") and writes them in Envoy's admin formats: text,
// JSON and Prometheus with Envoy's tag extraction. Stats are resolved once, when config
// is built; the hot path only does atomic adds. It imports nothing from weft.
package stats
