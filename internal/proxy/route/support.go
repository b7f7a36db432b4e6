package route

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	previoushostsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/retry/host/previous_hosts/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
)

// init declares exactly the route config fields this package implements, so that
// config.Check rejects every other one by name.
func init() {
	supportRouteTypes()
	supportActionTypes()
	supportMatcherTypes()
}

func supportRouteTypes() {
	config.Support(&routev3.RouteConfiguration{}, "name", "virtual_hosts", "internal_only_headers",
		"request_headers_to_add", "request_headers_to_remove",
		"response_headers_to_add", "response_headers_to_remove",
		"most_specific_header_mutations_wins", "validate_clusters",
		"max_direct_response_body_size_bytes", "ignore_port_in_host_matching", "vhost_header",
		"typed_per_filter_config")
	config.Support(&routev3.VirtualHost{}, "name", "domains", "routes", "require_tls",
		"virtual_clusters", "request_headers_to_add", "request_headers_to_remove",
		"response_headers_to_add", "response_headers_to_remove", "typed_per_filter_config",
		"retry_policy", "include_request_attempt_count", "include_attempt_count_in_response")
	config.Support(&routev3.VirtualCluster{}, "headers", "name")
	config.Support(&routev3.Route{}, "name", "match", "route", "redirect", "direct_response",
		"metadata", "decorator", "typed_per_filter_config",
		"request_headers_to_add", "request_headers_to_remove",
		"response_headers_to_add", "response_headers_to_remove")
	config.Support(&routev3.Decorator{}, "operation", "propagate")
	config.Support(&corev3.Metadata{}, "filter_metadata")
	config.Support(&routev3.RouteMatch{}, "prefix", "path", "safe_regex", "path_separated_prefix",
		"case_sensitive", "runtime_fraction", "headers", "query_parameters", "grpc",
		"dynamic_metadata")
	config.Support(&routev3.RouteMatch_GrpcRouteMatchOptions{})
	config.Support(&corev3.RuntimeFractionalPercent{}, "runtime_key", "default_value")
	config.Support(&typev3.FractionalPercent{}, "numerator", "denominator")
	config.Support(&routev3.RedirectAction{}, "https_redirect", "scheme_redirect", "host_redirect",
		"port_redirect", "path_redirect", "prefix_rewrite", "regex_rewrite", "response_code",
		"strip_query")
	config.Support(&routev3.DirectResponseAction{}, "status", "body")
	config.Support(&corev3.DataSource{}, "inline_string", "inline_bytes")
	config.Support(&corev3.HeaderValueOption{}, "header", "append", "append_action",
		"keep_empty_value")
	config.Support(&corev3.HeaderValue{}, "key", "value")
}

func supportActionTypes() {
	config.Support(&routev3.RouteAction{}, "cluster", "cluster_header", "weighted_clusters",
		"cluster_not_found_response_code", "prefix_rewrite", "regex_rewrite",
		"host_rewrite_literal", "auto_host_rewrite", "host_rewrite_header",
		"host_rewrite_path_regex", "append_x_forwarded_host", "timeout", "idle_timeout",
		"retry_policy", "request_mirror_policies", "hash_policy", "max_stream_duration")
	config.Support(&routev3.WeightedCluster{}, "clusters", "total_weight", "runtime_key_prefix",
		"header_name")
	config.Support(&routev3.WeightedCluster_ClusterWeight{}, "name", "weight",
		"request_headers_to_add", "request_headers_to_remove",
		"response_headers_to_add", "response_headers_to_remove",
		"host_rewrite_literal", "typed_per_filter_config")
	config.Support(&routev3.RetryPolicy_RetryHostPredicate{}, "name", "typed_config")
	config.SupportAll(&previoushostsv3.PreviousHostsPredicate{})
	config.Support(&routev3.RetryPolicy{}, "retry_on", "num_retries", "per_try_timeout", "retry_host_predicate",
		"per_try_idle_timeout", "retry_back_off", "retriable_status_codes", "retriable_headers",
		"retriable_request_headers", "host_selection_retry_max_attempts")
	config.Support(&routev3.RetryPolicy_RetryBackOff{}, "base_interval", "max_interval")
	config.Support(&routev3.RouteAction_HashPolicy{}, "header", "cookie", "connection_properties",
		"query_parameter", "filter_state", "terminal")
	config.Support(&routev3.RouteAction_HashPolicy_Header{}, "header_name", "regex_rewrite")
	config.Support(&routev3.RouteAction_HashPolicy_Cookie{}, "name", "ttl", "path")
	config.Support(&routev3.RouteAction_HashPolicy_ConnectionProperties{}, "source_ip")
	config.Support(&routev3.RouteAction_HashPolicy_QueryParameter{}, "name")
	config.Support(&routev3.RouteAction_HashPolicy_FilterState{}, "key")
	config.Support(&routev3.RouteAction_RequestMirrorPolicy{}, "cluster", "cluster_header",
		"runtime_fraction", "trace_sampled")
	config.Support(&routev3.RouteAction_MaxStreamDuration{}, "max_stream_duration",
		"grpc_timeout_header_max", "grpc_timeout_header_offset")
}

func supportMatcherTypes() {
	config.Support(&routev3.HeaderMatcher{}, "name", "exact_match", "safe_regex_match",
		"range_match", "present_match", "prefix_match", "suffix_match", "contains_match",
		"string_match", "invert_match", "treat_missing_header_as_empty")
	config.Support(&routev3.QueryParameterMatcher{}, "name", "string_match", "present_match")
	config.Support(&matcherv3.StringMatcher{}, "exact", "prefix", "suffix", "safe_regex",
		"contains", "ignore_case")
	config.Support(&matcherv3.RegexMatcher{}, "regex", "google_re2")
	config.Support(&matcherv3.RegexMatcher_GoogleRE2{})
	config.Support(&matcherv3.RegexMatchAndSubstitute{}, "pattern", "substitution")
	config.Support(&typev3.Int64Range{}, "start", "end")
	config.Support(&matcherv3.MetadataMatcher{}, "filter", "path", "value", "invert")
	config.Support(&matcherv3.MetadataMatcher_PathSegment{}, "key")
	config.Support(&matcherv3.ValueMatcher{}, "null_match", "double_match", "string_match",
		"bool_match", "present_match", "list_match", "or_match")
	config.Support(&matcherv3.ValueMatcher_NullMatch{})
	config.Support(&matcherv3.DoubleMatcher{}, "range", "exact")
	config.Support(&typev3.DoubleRange{}, "start", "end")
	config.Support(&matcherv3.ListMatcher{}, "one_of")
	config.Support(&matcherv3.OrMatcher{}, "value_matchers")
}
