package ratelimit

import (
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	lrlv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
	"github.com/weftmesh/weft/internal/proxy/tokenbucket"
	"github.com/weftmesh/weft/internal/stats"
)

const (
	// TypeURL is the type URL of the filter's config.
	TypeURL = "type.googleapis.com/envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
	// Name is the filter's extension name and its key in typed_per_filter_config.
	Name = "envoy.filters.http.local_ratelimit"
	// typeName is the config's type name, the other key typed_per_filter_config may use.
	typeName = "envoy.extensions.filters.http.local_ratelimit.v3.LocalRateLimit"
)

func init() {
	httpfilter.Register(httpfilter.Registration{
		TypeURL:   TypeURL,
		Names:     []string{Name},
		NewConfig: func() proto.Message { return &lrlv3.LocalRateLimit{} },
		New: func(cfg proto.Message, deps *httpfilter.Deps) (httpfilter.Filter, error) {
			return New(cfg.(*lrlv3.LocalRateLimit), deps)
		},
		PerRoute: parsePerRoute,
	})
	config.Support(&lrlv3.LocalRateLimit{}, "stat_prefix", "status", "token_bucket", "filter_enabled",
		"filter_enforced", "request_headers_to_add_when_not_enforced", "response_headers_to_add",
		"descriptors", "enable_x_ratelimit_headers", "always_consume_default_token_bucket",
		"rate_limited_as_resource_exhausted", "rate_limits", "max_dynamic_descriptors",
		"enable_retry_after_header")
	config.Support(&typev3.HttpStatus{}, "code")
	config.Support(&typev3.TokenBucket{}, "max_tokens", "tokens_per_fill", "fill_interval")
	config.Support(&corev3.RuntimeFractionalPercent{}, "runtime_key", "default_value")
	config.Support(&corev3.HeaderValueOption{}, "header", "append", "append_action", "keep_empty_value")
	config.Support(&corev3.HeaderValue{}, "key", "value")
	config.Support(&ratelimitv3.LocalRateLimitDescriptor{}, "entries", "token_bucket")
	config.Support(&ratelimitv3.RateLimitDescriptor_Entry{}, "key", "value")
	config.Support(&routev3.RateLimit{}, "actions")
	config.Support(&routev3.RateLimit_Action{}, "destination_cluster", "request_headers", "query_parameters",
		"remote_address", "masked_remote_address", "generic_key", "header_value_match")
	config.Support(&routev3.RateLimit_Action_DestinationCluster{})
	config.Support(&routev3.RateLimit_Action_RequestHeaders{}, "header_name", "descriptor_key", "skip_if_absent")
	config.Support(&routev3.RateLimit_Action_QueryParameters{}, "query_parameter_name", "descriptor_key", "skip_if_absent")
	config.Support(&routev3.RateLimit_Action_RemoteAddress{})
	config.Support(&routev3.RateLimit_Action_MaskedRemoteAddress{}, "v4_prefix_mask_len", "v6_prefix_mask_len")
	config.Support(&routev3.RateLimit_Action_GenericKey{}, "descriptor_value", "descriptor_key")
	config.Support(&routev3.RateLimit_Action_HeaderValueMatch{}, "descriptor_value", "descriptor_key", "expect_match", "headers")
}

// Filter is the local rate limit filter of one filter chain. It serves every stream of
// the chain concurrently.
type Filter struct {
	cfg    *Config
	rt     *runtime.Store
	store  *stats.Store
	random func() uint64
	// decided maps a stream to the bucket that decided it, for the x-ratelimit headers
	// of its response; tracking is set once any config wants those headers.
	decided  sync.Map
	tracking atomic.Bool
}

var (
	_ httpfilter.Filter  = (*Filter)(nil)
	_ httpfilter.Encoder = (*Filter)(nil)
	_ httpfilter.Logger  = (*Filter)(nil)
)

// New builds the filter from its config.
func New(cfg *lrlv3.LocalRateLimit, deps *httpfilter.Deps) (*Filter, error) {
	return newFilter(cfg, deps, nil)
}

// newFilter builds the filter with now as its buckets' clock (nil: time.Now).
func newFilter(cfg *lrlv3.LocalRateLimit, deps *httpfilter.Deps, now func() time.Time) (*Filter, error) {
	c, err := NewConfig(cfg, false, now)
	if err != nil {
		return nil, err
	}
	c.stats(deps.Stats)
	return &Filter{cfg: c, rt: deps.Runtime, store: deps.Stats, random: rand.Uint64}, nil
}

// configFor returns the route's config, else the filter's. The route's may be keyed
// by the filter's name or, as the registry also accepts, its type name.
func (f *Filter) configFor(s *httpfilter.Stream) *Config {
	if s.Route != nil {
		if c, ok := s.Route.PerFilterConfig(Name).(*Config); ok {
			return c
		}
		if c, ok := s.Route.PerFilterConfig(typeName).(*Config); ok {
			return c
		}
	}
	return f.cfg
}

// DecodeHeaders takes a token for the request, and answers it with the config's
// status when there is none and the limit is enforced.
func (f *Filter) DecodeHeaders(s *httpfilter.Stream) httpfilter.Status {
	c := f.configFor(s)
	if !c.enabled.on(f.rt, f.random()) {
		return httpfilter.Continue
	}
	st := c.stats(f.store)
	st.enabled.Inc()
	var ds []descriptor
	if c.limiter.hasDescriptors() {
		ds = c.descriptors(s)
	}
	ok, b := c.limiter.allow(ds)
	if c.xHeaders && b != nil {
		f.tracking.Store(true)
		f.decided.Store(s, b)
	}
	if ok {
		st.ok.Inc()
		return httpfilter.Continue
	}
	st.rateLimited.Inc()
	if !c.enforced.on(f.rt, f.random()) {
		applyHeaders(c.reqHeaders, &s.Request, requestInfo(s))
		return httpfilter.Continue
	}
	st.enforced.Inc()
	s.SendLocalReplyGRPC(c.status, c.grpcStatus, "local_rate_limited", streaminfo.RateLimited, "local_rate_limited",
		func(h *header.Map) { c.finishReply(s, h, b) })
	return httpfilter.Stop
}

// finishReply adds response_headers_to_add and, for a 429 with
// enable_retry_after_header, Retry-After unless those headers set one.
func (c *Config) finishReply(s *httpfilter.Stream, h *header.Map, b *tokenbucket.Bucket) {
	applyHeaders(c.respHeaders, h, requestInfo(s))
	if c.retryAfter && h.Get(header.Status) == "429" && !h.Has("retry-after") {
		setHeader(h, "retry-after", max(1, ceilSeconds(b)))
	}
}

// requestInfo returns the stream's info with the request headers visible to formatters.
func requestInfo(s *httpfilter.Stream) *streaminfo.Info {
	if s.Info.RequestHeaders == nil {
		s.Info.RequestHeaders = &s.Request
	}
	return &s.Info
}

// ceilSeconds returns the whole seconds, rounded up, until b has a token.
func ceilSeconds(b *tokenbucket.Bucket) uint64 {
	return uint64(math.Ceil(b.NextToken().Seconds()))
}

// EncodeHeaders adds the x-ratelimit headers (draft 03) to the response of a request
// whose config enables them: the deciding bucket's capacity, its whole tokens left
// and the seconds until its next token.
func (f *Filter) EncodeHeaders(s *httpfilter.Stream, resp *header.Map) {
	if !f.tracking.Load() {
		return
	}
	v, ok := f.decided.Load(s)
	if !ok {
		return
	}
	b := v.(*tokenbucket.Bucket)
	resp.Add("x-ratelimit-limit", itoa(b.Max()))
	resp.Add("x-ratelimit-remaining", itoa(b.Remaining()))
	resp.Add("x-ratelimit-reset", itoa(ceilSeconds(b)))
}

// OnStreamComplete forgets the stream's deciding bucket.
func (f *Filter) OnStreamComplete(s *httpfilter.Stream) {
	if f.tracking.Load() {
		f.decided.Delete(s)
	}
}
