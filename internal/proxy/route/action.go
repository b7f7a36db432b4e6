package route

import (
	"errors"
	"fmt"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
)

// DefaultTimeout is the upstream timeout of a route that does not set one.
const DefaultTimeout = 15 * time.Second

// routeAction is the compiled part of a RouteAction that all of a route's entries share.
type routeAction struct {
	notFoundCode  int
	prefixRewrite *string
	regexRewrite  *RegexRewrite
	hostLiteral   string
	hostHeader    string
	hostPathRegex *RegexRewrite
	autoHost      bool
	appendXFH     bool
	timeout       time.Duration
	idleTimeout   *time.Duration
	retry         *RetryPolicy
	mirrors       []MirrorPolicy
	hash          []HashPolicy
	maxStream     MaxStreamDuration
}

func (rl *rule) buildRouteAction(ra *routev3.RouteAction, opts Options) error {
	act := &routeAction{notFoundCode: 503, timeout: DefaultTimeout, appendXFH: ra.GetAppendXForwardedHost()}
	rl.act = act
	switch c := ra.GetClusterSpecifier().(type) {
	case *routev3.RouteAction_Cluster:
		if c.Cluster == "" {
			return at("cluster", errors.New("cluster name is required"))
		}
		rl.entries = []Entry{{rule: rl, cluster: c.Cluster}}
	case *routev3.RouteAction_ClusterHeader:
		if c.ClusterHeader == "" {
			return at("cluster_header", errors.New("header name is required"))
		}
		rl.entries = []Entry{{rule: rl, clusterHeader: strings.ToLower(c.ClusterHeader)}}
	case *routev3.RouteAction_WeightedClusters:
		if err := rl.buildWeighted(c.WeightedClusters, opts); err != nil {
			return at("weighted_clusters", err)
		}
	default:
		return errors.New("cluster_specifier is required (cluster, cluster_header or weighted_clusters)")
	}
	if err := act.buildNotFound(ra); err != nil {
		return err
	}
	if err := act.buildRewrites(ra); err != nil {
		return err
	}
	return act.buildPolicies(ra)
}

func (act *routeAction) buildNotFound(ra *routev3.RouteAction) error {
	switch ra.GetClusterNotFoundResponseCode() {
	case routev3.RouteAction_SERVICE_UNAVAILABLE:
		act.notFoundCode = 503
	case routev3.RouteAction_NOT_FOUND:
		act.notFoundCode = 404
	case routev3.RouteAction_INTERNAL_SERVER_ERROR:
		act.notFoundCode = 500
	default:
		return at("cluster_not_found_response_code", fmt.Errorf("unknown code %v", ra.GetClusterNotFoundResponseCode()))
	}
	return nil
}

func (act *routeAction) buildRewrites(ra *routev3.RouteAction) error {
	if ra.GetPrefixRewrite() != "" {
		p := ra.GetPrefixRewrite()
		act.prefixRewrite = &p
	}
	var err error
	if act.regexRewrite, err = compileRegexRewrite(ra.GetRegexRewrite()); err != nil {
		return at("regex_rewrite", err)
	}
	if act.prefixRewrite != nil && act.regexRewrite != nil {
		return at("regex_rewrite", errors.New("prefix_rewrite and regex_rewrite are mutually exclusive"))
	}
	switch h := ra.GetHostRewriteSpecifier().(type) {
	case *routev3.RouteAction_HostRewriteLiteral:
		act.hostLiteral = h.HostRewriteLiteral
	case *routev3.RouteAction_AutoHostRewrite:
		act.autoHost = h.AutoHostRewrite.GetValue()
	case *routev3.RouteAction_HostRewriteHeader:
		if h.HostRewriteHeader == "" {
			return at("host_rewrite_header", errors.New("header name is required"))
		}
		act.hostHeader = strings.ToLower(h.HostRewriteHeader)
	case *routev3.RouteAction_HostRewritePathRegex:
		if act.hostPathRegex, err = compileRegexRewrite(h.HostRewritePathRegex); err != nil {
			return at("host_rewrite_path_regex", err)
		}
	}
	return nil
}

func (act *routeAction) buildPolicies(ra *routev3.RouteAction) error {
	if t := ra.GetTimeout(); t != nil {
		act.timeout = t.AsDuration()
	}
	act.idleTimeout = optDuration(ra.GetIdleTimeout())
	var err error
	if act.retry, err = compileRetryPolicy(ra.GetRetryPolicy()); err != nil {
		return at("retry_policy", err)
	}
	if act.mirrors, err = compileMirrorPolicies(ra.GetRequestMirrorPolicies()); err != nil {
		return at("request_mirror_policies", err)
	}
	if act.hash, err = compileHashPolicies(ra.GetHashPolicy()); err != nil {
		return at("hash_policy", err)
	}
	act.maxStream = compileMaxStreamDuration(ra.GetMaxStreamDuration())
	return nil
}
