package stats

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func TestDefaultTagExtraction(t *testing.T) {
	tests := []struct {
		name     string
		wantName string
		wantTags []Tag
	}{
		{
			name:     "cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_total",
			wantName: "cluster.upstream_rq_total",
			wantTags: []Tag{{TagClusterName, "outbound|9080||reviews.default.svc.cluster.local"}},
		},
		{
			name:     "cluster.x.upstream_rq_2xx",
			wantName: "cluster.upstream_rq_xx",
			wantTags: []Tag{{TagResponseCodeClass, "2"}, {TagClusterName, "x"}},
		},
		{
			name:     "cluster.inbound|9080||.upstream_rq_503",
			wantName: "cluster.upstream_rq",
			wantTags: []Tag{{TagResponseCode, "503"}, {TagClusterName, "inbound|9080||"}},
		},
		{
			name:     "cluster.xds-grpc.circuit_breakers.default.cx_open",
			wantName: "cluster.circuit_breakers.default.cx_open",
			wantTags: []Tag{{TagClusterName, "xds-grpc"}},
		},
		{
			name:     "listener.0.0.0.0_15006.downstream_cx_total",
			wantName: "listener.downstream_cx_total",
			wantTags: []Tag{{TagListenerAddress, "0.0.0.0_15006"}},
		},
		{
			name:     "listener.[__1]_15001.downstream_cx_active",
			wantName: "listener.downstream_cx_active",
			wantTags: []Tag{{TagListenerAddress, "[__1]_15001"}},
		},
		{
			name:     "listener.admin.downstream_cx_total",
			wantName: "listener.admin.downstream_cx_total",
		},
		{
			name:     "listener.0.0.0.0_15006.http.inbound_0.downstream_rq_2xx",
			wantName: "listener.http.downstream_rq_xx",
			wantTags: []Tag{{TagResponseCodeClass, "2"}, {TagHTTPConnManagerPrefix, "inbound_0"}, {TagListenerAddress, "0.0.0.0_15006"}},
		},
		{
			// Like Envoy, only the id and its dot are removed, not "worker_".
			name:     "listener.0.0.0.0_15006.worker_3.downstream_cx_total",
			wantName: "listener.worker_downstream_cx_total",
			wantTags: []Tag{{TagWorkerID, "3"}, {TagListenerAddress, "0.0.0.0_15006"}},
		},
		{
			name:     "http.ingress_http.downstream_rq_total",
			wantName: "http.downstream_rq_total",
			wantTags: []Tag{{TagHTTPConnManagerPrefix, "ingress_http"}},
		},
		{
			name:     "http.ingress_http.rds.route.with.dots.config_reload",
			wantName: "http.rds.config_reload",
			wantTags: []Tag{{TagRDSRouteConfig, "route.with.dots"}, {TagHTTPConnManagerPrefix, "ingress_http"}},
		},
		{
			name:     "http.ingress_http.rbac.policy.allow-all.allowed",
			wantName: "http.rbac.policy.allowed",
			wantTags: []Tag{{TagRBACPolicyName, "allow-all"}, {TagHTTPConnManagerPrefix, "ingress_http"}},
		},
		{
			name:     "http.ingress_http.rbac.prefix.denied",
			wantName: "http.rbac.denied",
			wantTags: []Tag{{TagRBACHTTPPrefix, "prefix"}, {TagHTTPConnManagerPrefix, "ingress_http"}},
		},
		{
			name:     "http.ingress_http.user_agent.ios.downstream_cx_total",
			wantName: "http.user_agent.downstream_cx_total",
			wantTags: []Tag{{TagHTTPUserAgent, "ios"}, {TagHTTPConnManagerPrefix, "ingress_http"}},
		},
		{
			name:     "vhost.reviews.vcluster.other.upstream_rq_retry",
			wantName: "vhost.vcluster.upstream_rq_retry",
			wantTags: []Tag{{TagVirtualCluster, "other"}, {TagVirtualHost, "reviews"}},
		},
		{
			name:     "vhost.reviews.route.r1.upstream_rq_time",
			wantName: "vhost.route.upstream_rq_time",
			wantTags: []Tag{{TagVirtualHost, "reviews"}, {TagRoute, "r1"}},
		},
		{
			name:     "tcp.outbound_tcp.downstream_cx_total",
			wantName: "tcp.downstream_cx_total",
			wantTags: []Tag{{TagTCPPrefix, "outbound_tcp"}},
		},
		{
			name:     "listener.1.2.3.4_443.ssl.ciphers.ECDHE-RSA-AES128-GCM-SHA256",
			wantName: "listener.ssl.ciphers",
			wantTags: []Tag{{TagSSLCipher, "ECDHE-RSA-AES128-GCM-SHA256"}, {TagListenerAddress, "1.2.3.4_443"}},
		},
		{
			name:     "cluster.x.ssl.versions.TLSv1.3",
			wantName: "cluster.ssl.versions",
			wantTags: []Tag{{TagSSLVersion, "TLSv1.3"}, {TagClusterName, "x"}},
		},
		{
			name:     "listener_manager.worker_0.dispatcher.loop_duration_us",
			wantName: "listener_manager.worker_dispatcher.loop_duration_us",
			wantTags: []Tag{{TagWorkerID, "0"}},
		},
		{
			name:     "proxy_proto.versions.v2.found",
			wantName: "proxy_proto.found",
			wantTags: []Tag{{TagProxyProtocolVersion, "2"}},
		},
		{
			name:     "inbound.http_local_rate_limit.rate_limited",
			wantName: "http_local_rate_limit.rate_limited",
			wantTags: []Tag{{TagLocalHTTPRatelimitPrefix, "inbound"}},
		},
		{
			name:     "mongo.mongo_proxy.collection.users.callsite.login.query.total",
			wantName: "mongo.collection.callsite.query.total",
			wantTags: []Tag{{TagMongoCallsite, "login"}, {TagMongoCollection, "users"}, {TagMongoPrefix, "mongo_proxy"}},
		},
		{
			name:     "server.uptime",
			wantName: "server.uptime",
		},
		{
			name:     "cluster_manager.cds.version_text",
			wantName: "cluster_manager.cds.version_text",
		},
	}
	tagger := DefaultTagger()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			gotName, gotTags := tagger.Extract(tt.name)
			if gotName != tt.wantName {
				t.Errorf("tag-extracted name = %q, want %q", gotName, tt.wantName)
			}
			if diff := cmp.Diff(tt.wantTags, gotTags, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("tags (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCustomTagSpecs(t *testing.T) {
	tagger, err := NewTagger([]TagSpec{
		{Name: "reporter", Regex: `(reporter=\.=(.+?);\.;)`},
		{Name: "mesh", FixedValue: "weft"},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	gotName, gotTags := tagger.Extract("istio_requests_total.reporter=.=destination;.;")
	wantTags := []Tag{{"reporter", "destination"}, {"mesh", "weft"}}
	if gotName != "istio_requests_total." {
		t.Errorf("tag-extracted name = %q, want %q", gotName, "istio_requests_total.")
	}
	if diff := cmp.Diff(wantTags, gotTags); diff != "" {
		t.Errorf("tags (-want +got):\n%s", diff)
	}
}

func TestTagSpecErrors(t *testing.T) {
	tests := []struct {
		spec TagSpec
		want string
	}{
		{TagSpec{Regex: `^a\.(b)`}, "tag name is empty"},
		{TagSpec{Name: "x", Regex: `(`}, "compile regex"},
		{TagSpec{Name: "x", Regex: `^cluster(?=\.)`}, "compile regex"},
		{TagSpec{Name: "x", Regex: `^cluster\.`}, "no group"},
	}
	for _, tt := range tests {
		_, err := NewTagger([]TagSpec{tt.spec}, false)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("NewTagger(%+v) error = %v, want one containing %q", tt.spec, err, tt.want)
		}
	}
}

func TestRegexPrefix(t *testing.T) {
	tests := map[string]string{
		`^cluster\.((.*?)\.)`:   "cluster",
		`^listener(?=\.).*?`:    "listener",
		`^tcp$`:                 "tcp",
		`_rq(_(\d{3}))$`:        "",
		`^(?:listener|server)`:  "",
		`^http_conn\w+`:         "",
		`^proxy_proto\.((a)\.)`: "proxy_proto",
	}
	for expr, want := range tests {
		if got := regexPrefix(expr); got != want {
			t.Errorf("regexPrefix(%q) = %q, want %q", expr, got, want)
		}
	}
}

func TestStatsCacheTags(t *testing.T) {
	s := NewStore()
	c := s.Scope("cluster.x.").Counter("upstream_rq_2xx")
	if got, want := c.TagExtractedName(), "cluster.upstream_rq_xx"; got != want {
		t.Errorf("TagExtractedName() = %q, want %q", got, want)
	}
	tags := c.Tags()
	tags[0].Value = "changed"
	if diff := cmp.Diff([]Tag{{TagResponseCodeClass, "2"}, {TagClusterName, "x"}}, c.Tags()); diff != "" {
		t.Errorf("Tags() after changing a copy (-want +got):\n%s", diff)
	}
	untagged := NewStoreWithTagger(nil).Gauge("cluster.x.y")
	if untagged.TagExtractedName() != "cluster.x.y" || len(untagged.Tags()) != 0 {
		t.Errorf("store without tagger: name %q, tags %v", untagged.TagExtractedName(), untagged.Tags())
	}
}
