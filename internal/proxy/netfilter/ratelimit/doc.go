// Package ratelimit is the network local rate limit filter
// (envoy.filters.network.local_ratelimit): every new connection of the filter chain
// takes a token from the filter's bucket, and a connection that finds it empty is
// closed at once, before any later filter sees it, and counted in
// local_rate_limit.<stat_prefix>.rate_limited. runtime_enabled can switch the filter
// off. Each filter has its own bucket, as in Envoy without share_key.
// It imports netfilter, runtime, tokenbucket, config and stats; never listener or
// another filter.
package ratelimit
