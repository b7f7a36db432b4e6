package accesslog

import (
	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	streamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"
	matcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
)

// init declares the config this package handles, so that config.Check rejects the
// rest: the runtime, traceable, grpc_status, metadata, log_type and extension
// filters, other logger types, formatter extensions, content_type and the
// environment_variable and watched_directory data sources.
func init() {
	config.Support(&accesslogv3.AccessLog{}, "name", "filter", "typed_config")
	config.Support(&accesslogv3.AccessLogFilter{},
		"status_code_filter", "duration_filter", "not_health_check_filter",
		"response_flag_filter", "header_filter", "and_filter", "or_filter")
	config.SupportAll(&accesslogv3.StatusCodeFilter{})
	config.SupportAll(&accesslogv3.DurationFilter{})
	config.SupportAll(&accesslogv3.ComparisonFilter{})
	config.SupportAll(&accesslogv3.NotHealthCheckFilter{})
	config.SupportAll(&accesslogv3.ResponseFlagFilter{})
	config.SupportAll(&accesslogv3.HeaderFilter{})
	config.SupportAll(&accesslogv3.AndFilter{})
	config.SupportAll(&accesslogv3.OrFilter{})
	// runtime_key is accepted and resolves to default_value: weft has no runtime layer.
	config.Support(&corev3.RuntimeUInt32{}, "default_value", "runtime_key")

	config.Support(&routev3.HeaderMatcher{}, "name", "exact_match", "safe_regex_match",
		"range_match", "present_match", "prefix_match", "suffix_match", "contains_match",
		"string_match", "invert_match", "treat_missing_header_as_empty")
	config.Support(&matcherv3.StringMatcher{}, "exact", "prefix", "suffix", "safe_regex",
		"contains", "ignore_case")
	config.Support(&matcherv3.RegexMatcher{}, "regex", "google_re2")
	config.Support(&matcherv3.RegexMatcher_GoogleRE2{})
	config.SupportAll(&typev3.Int64Range{})

	config.Support(&filev3.FileAccessLog{}, "path", "format", "json_format",
		"typed_json_format", "log_format")
	config.Support(&streamv3.StdoutAccessLog{}, "log_format")
	config.Support(&streamv3.StderrAccessLog{}, "log_format")
	config.Support(&corev3.SubstitutionFormatString{}, "text_format", "json_format",
		"text_format_source", "omit_empty_values", "json_format_options")
	// Properties are always sorted, so the deprecated sort_properties changes nothing.
	config.Support(&corev3.JsonFormatOptions{}, "sort_properties")
	config.Support(&corev3.DataSource{}, "inline_string", "inline_bytes", "filename")
}
