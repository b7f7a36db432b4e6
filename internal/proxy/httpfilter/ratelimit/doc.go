// Package ratelimit is the HTTP local rate limit filter
// (envoy.filters.http.local_ratelimit): each request takes a token from a bucket the
// proxy keeps in memory, and once the bucket is empty requests are answered with 429
// (or the configured status), the RL response flag and local_rate_limited. The filter
// acts only on the share of requests filter_enabled selects, and enforces only on the
// share filter_enforced selects, both 0% unless configured, as in Envoy.
//
// Descriptors give requests buckets of their own: the filter's rate_limits actions
// (generic_key, request_headers, query_parameters, remote_address,
// masked_remote_address, header_value_match, destination_cluster) turn a request into
// descriptors, which are matched against the configured descriptors, with empty
// values as wildcards that get a bucket per distinct value. A route's
// typed_per_filter_config replaces the filter's config, with buckets of its own.
//
// Stats are <stat_prefix>.http_local_rate_limit.{enabled,ok,rate_limited,enforced}.
// It imports httpfilter, header, route, runtime, tokenbucket, format, streaminfo,
// config and stats; never hcm, the router or another filter.
package ratelimit
