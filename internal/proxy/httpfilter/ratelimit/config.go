package ratelimit

import (
	"fmt"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	ratelimitv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/ratelimit/v3"
	lrlv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/tokenbucket"
	"github.com/weftmesh/weft/internal/stats"
)

// minFillInterval is the shortest fill_interval Envoy accepts.
const minFillInterval = 50 * time.Millisecond

// Config is a compiled LocalRateLimit: the filter's or a route's. Its buckets live as
// long as it does. It is safe for concurrent use.
type Config struct {
	statPrefix  string
	status      int
	grpcStatus  int // -1: derived from status
	enabled     fraction
	enforced    fraction
	limiter     *limiter
	rateLimits  [][]action
	respHeaders []headerAdd
	reqHeaders  []headerAdd
	xHeaders    bool
	retryAfter  bool
	st          atomic.Pointer[configStats]
}

// fraction is a RuntimeFractionalPercent; set is false when the config has none,
// which means 0%.
type fraction struct {
	set bool
	key string
	def runtime.Fraction
}

func fractionOf(p *corev3.RuntimeFractionalPercent) fraction {
	if p == nil {
		return fraction{}
	}
	return fraction{set: true, key: p.GetRuntimeKey(), def: runtime.FractionFromProto(p.GetDefaultValue())}
}

// on decides the fraction for random.
func (f fraction) on(rt *runtime.Store, random uint64) bool {
	return f.set && rt.FeatureEnabled(f.key, f.def, random)
}

// configStats are a config's counters, in the stats store of the filter using it.
type configStats struct {
	store                              *stats.Store
	enabled, ok, rateLimited, enforced *stats.Counter
}

// stats returns the config's counters in store, creating them on first use (a
// route's config is compiled before the store is known).
func (c *Config) stats(store *stats.Store) *configStats {
	if st := c.st.Load(); st != nil && st.store == store {
		return st
	}
	sc := store.Scope(c.statPrefix + ".http_local_rate_limit.")
	st := &configStats{store: store, enabled: sc.Counter("enabled"), ok: sc.Counter("ok"),
		rateLimited: sc.Counter("rate_limited"), enforced: sc.Counter("enforced")}
	c.st.Store(st)
	return st
}

// NewConfig compiles a LocalRateLimit. perRoute requires a token bucket, as Envoy
// does for route configs; now is the buckets' clock (nil: time.Now).
func NewConfig(cfg *lrlv3.LocalRateLimit, perRoute bool, now func() time.Time) (*Config, error) {
	if perRoute && cfg.GetTokenBucket() == nil {
		return nil, fmt.Errorf("token_bucket: required in a per-route config")
	}
	c := &Config{
		statPrefix: cfg.GetStatPrefix(),
		status:     429,
		grpcStatus: -1,
		enabled:    fractionOf(cfg.GetFilterEnabled()),
		enforced:   fractionOf(cfg.GetFilterEnforced()),
		xHeaders:   cfg.GetEnableXRatelimitHeaders() == ratelimitv3.XRateLimitHeadersRFCVersion_DRAFT_VERSION_03,
		retryAfter: cfg.GetEnableRetryAfterHeader(),
	}
	if code := int(cfg.GetStatus().GetCode()); code >= 400 {
		c.status = code
	}
	if cfg.GetRateLimitedAsResourceExhausted() {
		c.grpcStatus = 8 // RESOURCE_EXHAUSTED
	}
	var err error
	if c.respHeaders, err = compileHeaders(cfg.GetResponseHeadersToAdd()); err != nil {
		return nil, fmt.Errorf("response_headers_to_add%w", err)
	}
	if c.reqHeaders, err = compileHeaders(cfg.GetRequestHeadersToAddWhenNotEnforced()); err != nil {
		return nil, fmt.Errorf("request_headers_to_add_when_not_enforced%w", err)
	}
	if c.rateLimits, err = compileRateLimits(cfg.GetRateLimits()); err != nil {
		return nil, err
	}
	if c.limiter, err = newLimiter(cfg, now); err != nil {
		return nil, err
	}
	return c, nil
}

// bucketSpec is a compiled TokenBucket.
type bucketSpec struct {
	max, perFill uint32
	interval     time.Duration
}

// specOf compiles a TokenBucket, enforcing Envoy's minimum fill interval.
func specOf(tb *typev3.TokenBucket) (bucketSpec, error) {
	spec := bucketSpec{max: tb.GetMaxTokens(), perFill: 1, interval: tb.GetFillInterval().AsDuration()}
	if spec.interval < minFillInterval {
		return spec, fmt.Errorf("fill_interval: %v is shorter than 50ms", spec.interval)
	}
	if p := tb.GetTokensPerFill(); p != nil {
		spec.perFill = p.GetValue()
	}
	if spec.perFill == 0 {
		return spec, fmt.Errorf("tokens_per_fill: must be greater than zero")
	}
	return spec, nil
}

// build returns a full bucket of the spec.
func (b bucketSpec) build(now func() time.Time) *tokenbucket.Bucket {
	return tokenbucket.New(b.max, b.perFill, b.interval, now)
}

// parsePerRoute parses a route's typed_per_filter_config for the filter.
func parsePerRoute(a *anypb.Any) (any, error) {
	if a.GetTypeUrl() != TypeURL {
		return nil, fmt.Errorf("local_ratelimit: per-route config must be %s, not %s", TypeURL, a.GetTypeUrl())
	}
	cfg := &lrlv3.LocalRateLimit{}
	if err := a.UnmarshalTo(cfg); err != nil {
		return nil, fmt.Errorf("local_ratelimit: %w", err)
	}
	if err := config.Validate(cfg); err != nil {
		return nil, fmt.Errorf("local_ratelimit: %w", err)
	}
	c, err := NewConfig(cfg, true, nil)
	if err != nil {
		return nil, fmt.Errorf("local_ratelimit: %w", err)
	}
	return c, nil
}
