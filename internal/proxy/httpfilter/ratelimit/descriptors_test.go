package ratelimit

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
)

// TestActions: rate_limits turn requests into descriptors; an action that cannot
// produce its entry drops its descriptor, skip_if_absent drops only the entry.
func TestActions(t *testing.T) {
	cfg := parseConfig(t, `
stat_prefix: a
rate_limits:
- actions: [{generic_key: {descriptor_value: gv}}, {request_headers: {header_name: X-User, descriptor_key: user}}]
- actions: [{request_headers: {header_name: x-tenant, descriptor_key: tenant, skip_if_absent: true}}, {generic_key: {descriptor_key: k, descriptor_value: v}}]
- actions: [{query_parameters: {query_parameter_name: page, descriptor_key: page}}]
- actions: [{remote_address: {}}, {masked_remote_address: {v4_prefix_mask_len: 24}}]
- actions: [{header_value_match: {descriptor_value: posts, headers: [{name: ":method", exact_match: POST}]}}]
- actions: [{header_value_match: {descriptor_key: not_post, descriptor_value: other, expect_match: false, headers: [{name: ":method", exact_match: POST}]}}]
- actions: [{destination_cluster: {}}]`)
	c, err := NewConfig(cfg, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &httpfilter.Stream{}
	s.Request = header.Of(":method", "GET", ":path", "/list?page=3&x=1", "x-user", "alice")
	s.Info.Downstream.RemoteAddress = netip.MustParseAddrPort("[::ffff:10.1.2.3]:999")
	got := c.descriptors(s)
	want := []descriptor{
		{{"generic_key", "gv"}, {"user", "alice"}},
		{{"k", "v"}},
		{{"page", "3"}},
		{{"remote_address", "10.1.2.3"}, {"masked_remote_address", "10.1.2.0/24"}},
		{{"not_post", "other"}},
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(entry{})); diff != "" {
		t.Errorf("descriptors (-want +got):\n%s", diff)
	}
}

// TestDescriptors: matched descriptors have buckets of their own; wildcards get one
// bucket per value; the default bucket is consumed too unless
// always_consume_default_token_bucket is false.
func TestDescriptors(t *testing.T) {
	const rl = `rate_limits: [{actions: [{request_headers: {header_name: x-user, descriptor_key: user}}]}]`
	descs := `descriptors:
  - {entries: [{key: user, value: alice}], token_bucket: {max_tokens: 1, fill_interval: 60s}}
  - {entries: [{key: user, value: ""}], token_bucket: {max_tokens: 2, fill_interval: 60s}}`
	tests := []struct {
		name, bucket, extra string
		requests            [][]string
		want                string
	}{
		{"exact descriptor", "{max_tokens: 100, fill_interval: 1s}", "",
			[][]string{{"x-user", "alice"}, {"x-user", "alice"}}, "pass 429"},
		{"wildcard, a bucket per value", "{max_tokens: 100, fill_interval: 1s}", "",
			[][]string{{"x-user", "bob"}, {"x-user", "bob"}, {"x-user", "bob"}, {"x-user", "carol"}}, "pass pass 429 pass"},
		{"no descriptor: default bucket", "{max_tokens: 1, fill_interval: 60s}", "",
			[][]string{{}, {}}, "pass 429"},
		{"default bucket also consumed", "{max_tokens: 1, fill_interval: 60s}", "",
			[][]string{{"x-user", "bob"}, {"x-user", "bob"}}, "pass 429"},
		{"default bucket skipped when matched", "{max_tokens: 1, fill_interval: 60s}", "always_consume_default_token_bucket: false",
			[][]string{{"x-user", "bob"}, {"x-user", "bob"}, {}, {}}, "pass pass pass 429"},
		{"lru of one dynamic bucket", "{max_tokens: 100, fill_interval: 1s}", "max_dynamic_descriptors: 1",
			[][]string{{"x-user", "bob"}, {"x-user", "bob"}, {"x-user", "carol"}, {"x-user", "bob"}}, "pass pass pass pass"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := "stat_prefix: a\nfilter_enabled: " + on + "\nfilter_enforced: " + on + "\ntoken_bucket: " + tt.bucket + "\n" + rl + "\n" + descs + "\n" + tt.extra
			h := newHarness(t, y, nil)
			var got []string
			for _, kv := range tt.requests {
				st, _, w := h.run(nil, kv...)
				if st == httpfilter.Continue {
					got = append(got, "pass")
				} else {
					got = append(got, w.get(":status"))
				}
			}
			if g := strings.Join(got, " "); g != tt.want {
				t.Errorf("got %s, want %s", g, tt.want)
			}
		})
	}
}

// TestSlowestDescriptorFirst: of several matched descriptors the slowest-filling one
// is consumed first, and a refusal leaves the others' tokens alone.
func TestSlowestDescriptorFirst(t *testing.T) {
	y := `
stat_prefix: a
filter_enabled: ` + on + `
filter_enforced: ` + on + `
rate_limits:
- actions: [{generic_key: {descriptor_value: fast}}]
- actions: [{generic_key: {descriptor_value: slow}}]
descriptors:
- {entries: [{key: generic_key, value: fast}], token_bucket: {max_tokens: 5, tokens_per_fill: 5, fill_interval: 1s}}
- {entries: [{key: generic_key, value: slow}], token_bucket: {max_tokens: 1, tokens_per_fill: 1, fill_interval: 60s}}`
	h := newHarness(t, y, nil)
	h.run(nil)
	h.run(nil)
	fast := h.f.cfg.limiter.static[0].bucket
	if got := fast.Remaining(); got != 4 {
		t.Errorf("fast bucket has %d tokens, want 4: the refused request must not take one", got)
	}
}
