// Package httpfilter defines what an HTTP filter is — the Stream it works on, the
// Filter and Encoder interfaces — and the registry of filter factories keyed by Envoy
// type URL. Filters live in sub-packages (router/, fault/, ...), each registering itself
// in init; the HTTP connection manager runs them in the order config gives.
// It imports header, streaminfo, route and stats; never hcm or a filter package.
package httpfilter
