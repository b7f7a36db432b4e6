package stats

import (
	"fmt"
	"strings"
	"sync"
)

// Tag names of Envoy's default tag extractors (source/common/config/well_known_names.h).
const (
	TagClusterName                 = "envoy.cluster_name"
	TagListenerAddress             = "envoy.listener_address"
	TagHTTPConnManagerPrefix       = "envoy.http_conn_manager_prefix"
	TagHTTPUserAgent               = "envoy.http_user_agent"
	TagSSLCipher                   = "envoy.ssl_cipher"
	TagSSLCurve                    = "envoy.ssl_curve"
	TagSSLSigalg                   = "envoy.ssl_sigalg"
	TagSSLVersion                  = "envoy.ssl_version"
	TagSSLCipherSuite              = "cipher_suite"
	TagClientSSLPrefix             = "envoy.clientssl_prefix"
	TagMongoPrefix                 = "envoy.mongo_prefix"
	TagMongoCmd                    = "envoy.mongo_cmd"
	TagMongoCollection             = "envoy.mongo_collection"
	TagMongoCallsite               = "envoy.mongo_callsite"
	TagRatelimitPrefix             = "envoy.ratelimit_prefix"
	TagLocalHTTPRatelimitPrefix    = "envoy.local_http_ratelimit_prefix"
	TagLocalNetworkRatelimitPrefix = "envoy.local_network_ratelimit_prefix"
	TagLocalListenerRatelimit      = "envoy.local_listener_ratelimit_prefix"
	TagDNSFilterPrefix             = "envoy.dns_filter_prefix"
	TagConnectionLimitPrefix       = "envoy.connection_limit_prefix"
	TagRBACPrefix                  = "envoy.rbac_prefix"
	TagRBACHTTPPrefix              = "envoy.rbac_http_prefix"
	TagRBACPolicyName              = "envoy.rbac_policy_name"
	TagTCPPrefix                   = "envoy.tcp_prefix"
	TagUDPPrefix                   = "envoy.udp_prefix"
	TagFaultDownstreamCluster      = "envoy.fault_downstream_cluster"
	TagDynamoOperation             = "envoy.dynamo_operation"
	TagDynamoTable                 = "envoy.dynamo_table"
	TagDynamoPartitionID           = "envoy.dynamo_partition_id"
	TagGRPCBridgeService           = "envoy.grpc_bridge_service"
	TagGRPCBridgeMethod            = "envoy.grpc_bridge_method"
	TagVirtualHost                 = "envoy.virtual_host"
	TagVirtualCluster              = "envoy.virtual_cluster"
	TagResponseCode                = "envoy.response_code"
	TagResponseCodeClass           = "envoy.response_code_class"
	TagRDSRouteConfig              = "envoy.rds_route_config"
	TagScopedRDSConfig             = "envoy.scoped_rds_config"
	TagRoute                       = "envoy.route"
	TagExtAuthzPrefix              = "envoy.ext_authz_prefix"
	TagWorkerID                    = "envoy.worker_id"
	TagThriftPrefix                = "envoy.thrift_prefix"
	TagRedisPrefix                 = "envoy.redis_prefix"
	TagProxyProtocolPrefix         = "envoy.proxy_protocol_prefix"
	TagProxyProtocolVersion        = "envoy.proxy_protocol_version"
)

// regexMacros are the shorthands Envoy's default regexes are written with.
var regexMacros = strings.NewReplacer(
	"<ADDRESS>", `(?:(?:\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[[a-fA-F_\d]+\])_\d+)`,
	"<CIPHER>", `[\w-]+`,
	"<TLS_VERSION>", `TLSv\d\.\d`,
	"<TAG_VALUE>", `[^\.]+`,
	"<ROUTE_CONFIG_NAME>", `[\w\-./]+`,
	"<SCOPED_ROUTE_CONFIG_NAME>", `[\w\-.]+`,
	"<LISTENER_OR_CLUSTER_WITH_NAME>", `(?:listener|cluster)\..*?`,
	"<PROXY_PROTOCOL_VERSION>", `\d`,
)

// regexDefault is one of Envoy's default regex extractors.
type regexDefault struct {
	name, expr, substr, negative string
}

// defaultRegexes are Envoy's default regex extractors, in Envoy's order.
var defaultRegexes = []regexDefault{
	{TagResponseCode, `_rq(_(\d{3}))$`, "_rq_", ""},
	{TagResponseCodeClass, `_rq_((\d))xx$`, "_rq_", ""},
	{TagDynamoPartitionID, `^http\.<TAG_VALUE>\.dynamodb\.table\.<TAG_VALUE>\.capacity\.<TAG_VALUE>(\.__partition_id=(\w{7}))$`, ".dynamodb.table.", ""},
	{TagDynamoOperation, `^http\.<TAG_VALUE>\.dynamodb.(?:operation|table\.<TAG_VALUE>\.capacity)(\.(<TAG_VALUE>))(?:\.|$)`, ".dynamodb.", ""},
	{TagDynamoTable, `^http\.<TAG_VALUE>\.dynamodb.(?:table|error)\.((<TAG_VALUE>)\.)`, ".dynamodb.", ""},
	{TagSSLCipher, `^listener\..*?\.ssl\.ciphers(\.(<CIPHER>))$`, ".ssl.ciphers.", ""},
	{TagSSLCurve, `^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.curves(\.(<CIPHER>))$`, ".ssl.curves.", ""},
	{TagSSLSigalg, `^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.sigalgs(\.(<CIPHER>))$`, ".ssl.sigalgs.", ""},
	{TagSSLVersion, `^<LISTENER_OR_CLUSTER_WITH_NAME>\.ssl\.versions(\.(<TLS_VERSION>))$`, ".ssl.versions.", ""},
	{TagSSLCipherSuite, `^cluster\.<TAG_VALUE>\.ssl\.ciphers(\.(<CIPHER>))$`, ".ssl.ciphers.", ""},
	{TagHTTPConnManagerPrefix, `^listener\..*?\.http\.((<TAG_VALUE>)\.)`, ".http.", ""},
	{TagWorkerID, `^(?:listener\.(?:<ADDRESS>|<TAG_VALUE>)|server|listener_manager|thread_local_cluster_manager)\.worker_((\d+)\.)`, "", ""},
	{TagListenerAddress, `^listener\.((<ADDRESS>|<TAG_VALUE>)\.)`, "", "admin"},
	{TagRDSRouteConfig, `^http\.<TAG_VALUE>\.rds\.((<ROUTE_CONFIG_NAME>)\.)\w+?$`, ".rds.", ""},
	{TagScopedRDSConfig, `^http\.<TAG_VALUE>\.scoped_rds\.((<SCOPED_ROUTE_CONFIG_NAME>)\.)\w+?$`, ".scoped_rds.", ""},
	{TagRBACPolicyName, `^http\.<TAG_VALUE>\.rbac\.(?:<TAG_VALUE>\.)?policy\.((<TAG_VALUE>)\.)(allowed|shadow_allowed|denied|shadow_denied)$`, "", ""},
	{TagRBACHTTPPrefix, `^http\.<TAG_VALUE>\.rbac\.((<TAG_VALUE>)\.).*?`, "", "policy"},
	{TagProxyProtocolPrefix, `^proxy_proto\.((<TAG_VALUE>)\.).+$`, "", "versions"},
	{TagProxyProtocolVersion, `^proxy_proto\.((?:<TAG_VALUE>\.)?versions\.v(<PROXY_PROTOCOL_VERSION>)\.)\w+$`, "", ""},
}

// clusterNameRegex replaces Envoy's "cluster.$.**" token pattern. Istio's cluster
// names contain dots ("outbound|9080||reviews.default.svc.cluster.local"), so, like
// the stats_tags of Istio's bootstrap, the name runs up to ".svc.cluster.local"
// when it has one and up to the first dot otherwise.
const clusterNameRegex = `^cluster\.((.+?(?:\..+?\.svc\.cluster\.local)?)\.)`

// defaultTokens are Envoy's default token-pattern extractors, in Envoy's order. The
// cluster name entry is a regex (see clusterNameRegex) kept at Envoy's position.
var defaultTokens = [][2]string{
	{TagMongoCallsite, "mongo.*.collection.*.callsite.$.query.**"},
	{TagMongoCollection, "mongo.*.collection.$.**.query.*"},
	{TagMongoCmd, "mongo.*.cmd.$.**"},
	{TagGRPCBridgeMethod, "cluster.*.grpc.*.$.**"},
	{TagHTTPUserAgent, "http.*.user_agent.$.**"},
	{TagVirtualCluster, "vhost.*.vcluster.$.**"},
	{TagFaultDownstreamCluster, "http.*.fault.$.**"},
	{TagGRPCBridgeService, "cluster.*.grpc.$.**"},
	{TagTCPPrefix, "tcp.$.**"},
	{TagUDPPrefix, "udp.$.**"},
	{TagClientSSLPrefix, "auth.clientssl.$.**"},
	{TagRatelimitPrefix, "ratelimit.$.**"},
	{TagClusterName, clusterNameRegex},
	{TagExtAuthzPrefix, "cluster.*.ext_authz.$.**"},
	{TagExtAuthzPrefix, "http.*.ext_authz.$.**"},
	{TagHTTPConnManagerPrefix, "http.$.**"},
	{TagVirtualHost, "vhost.$.**"},
	{TagMongoPrefix, "mongo.$.**"},
	{TagRoute, "vhost.*.route.$.**"},
	{TagThriftPrefix, "thrift.$.**"},
	{TagRedisPrefix, "redis.$.**"},
	{TagLocalHTTPRatelimitPrefix, "$.http_local_rate_limit.**"},
	{TagLocalNetworkRatelimitPrefix, "local_rate_limit.$.**"},
	{TagLocalListenerRatelimit, "listener_local_ratelimit.$.**"},
	{TagDNSFilterPrefix, "dns_filter.$.**"},
	{TagConnectionLimitPrefix, "connection_limit.$.**"},
	{TagRBACPrefix, "$.rbac.**"},
}

// defaultExtractors builds Envoy's default extractors: the regexes first, then the
// token patterns, which is the order Envoy runs them in.
func defaultExtractors() []*extractor {
	out := make([]*extractor, 0, len(defaultRegexes)+len(defaultTokens))
	for _, d := range defaultRegexes {
		x, err := newRegexExtractor(d.name, regexMacros.Replace(d.expr), d.substr, d.negative)
		if err != nil {
			panic(fmt.Sprintf("stats: default tag %s: %v", d.name, err)) // a bug in the table above
		}
		out = append(out, x)
	}
	for _, d := range defaultTokens {
		if d[1] == clusterNameRegex {
			x, err := newRegexExtractor(d[0], d[1], "", "")
			if err != nil {
				panic(fmt.Sprintf("stats: default tag %s: %v", d[0], err))
			}
			out = append(out, x)
			continue
		}
		out = append(out, newTokenExtractor(d[0], d[1]))
	}
	return out
}

// DefaultTagger returns the tagger with Envoy's default extractors that NewStore
// uses. It is built once and shared; it is immutable.
func DefaultTagger() *Tagger { return defaultTagger() }

var defaultTagger = sync.OnceValue(func() *Tagger {
	t, err := NewTagger(nil, true)
	if err != nil {
		panic(fmt.Sprintf("stats: default tagger: %v", err))
	}
	return t
})
