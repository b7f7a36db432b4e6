// Package stats holds counters, gauges, histograms and text readouts under Envoy's
// dotted names ("cluster.<name>.upstream_rq_total") and writes them in Envoy's admin
// formats: text, JSON and Prometheus with Envoy's tag extraction.
//
// Stats are resolved once, when config is built; the hot path only does atomic adds.
// Tags are extracted once per stat, when it is created. Histograms keep exact counts
// for Envoy's default bucket bounds and log-linear sub-buckets for quantiles, in
// about 1.5 KiB each; Store.Flush, called once per stats flush interval, closes the
// interval that Envoy's "interval" quantiles describe.
//
// The package imports nothing from weft.
package stats
