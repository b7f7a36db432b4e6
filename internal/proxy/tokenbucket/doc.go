// Package tokenbucket is the token bucket behind weft's local rate limits (the HTTP
// and network local_ratelimit filters), with the semantics of Envoy's atomic token
// bucket: a bucket starts full with max_tokens, refills continuously at
// tokens_per_fill per fill_interval, and never holds more than max_tokens.
//
// A Bucket is one atomic word: the instant at which it would have been empty. Taking a
// token is a compare-and-swap of that instant, so buckets need no lock, no timer and
// no goroutine, and cost nothing while idle. Time comes from an injectable clock.
//
// The package imports only the standard library.
package tokenbucket
