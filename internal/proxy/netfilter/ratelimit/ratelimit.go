package ratelimit

import (
	"context"
	"fmt"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	lrlv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/local_ratelimit/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/tokenbucket"
	"github.com/weftmesh/weft/internal/stats"
)

// TypeURL is the type URL of the filter's config.
const TypeURL = "type.googleapis.com/envoy.extensions.filters.network.local_ratelimit.v3.LocalRateLimit"

// minFillInterval is the shortest fill_interval Envoy accepts.
const minFillInterval = 50 * time.Millisecond

func init() {
	netfilter.Register(netfilter.Registration{
		TypeURL:   TypeURL,
		Names:     []string{"envoy.filters.network.local_ratelimit"},
		NewConfig: func() proto.Message { return &lrlv3.LocalRateLimit{} },
		New: func(cfg proto.Message, deps *netfilter.Deps, next netfilter.Handler) (netfilter.Handler, error) {
			return New(cfg.(*lrlv3.LocalRateLimit), deps, next, nil)
		},
	})
	config.Support(&lrlv3.LocalRateLimit{}, "stat_prefix", "token_bucket", "runtime_enabled")
	config.Support(&typev3.TokenBucket{}, "max_tokens", "tokens_per_fill", "fill_interval")
	config.Support(&corev3.RuntimeFeatureFlag{}, "default_value", "runtime_key")
}

// Limiter is the filter: it passes a connection to the rest of the chain when it gets
// a token, else closes it.
type Limiter struct {
	next        netfilter.Handler
	bucket      *tokenbucket.Bucket
	rt          *runtime.Store
	enabledKey  string
	enabledDef  bool
	rateLimited *stats.Counter
}

var _ netfilter.Handler = (*Limiter)(nil)

// New builds the filter in front of next; now is the bucket's clock (nil: time.Now).
func New(cfg *lrlv3.LocalRateLimit, deps *netfilter.Deps, next netfilter.Handler, now func() time.Time) (*Limiter, error) {
	if next == nil {
		return nil, fmt.Errorf("local_ratelimit: a network filter must follow it")
	}
	tb := cfg.GetTokenBucket()
	if tb == nil {
		return nil, fmt.Errorf("token_bucket: required")
	}
	interval := tb.GetFillInterval().AsDuration()
	if interval < minFillInterval {
		return nil, fmt.Errorf("token_bucket.fill_interval: %v is shorter than 50ms", interval)
	}
	perFill := uint32(1)
	if p := tb.GetTokensPerFill(); p != nil {
		perFill = p.GetValue()
	}
	if perFill == 0 {
		return nil, fmt.Errorf("token_bucket.tokens_per_fill: must be greater than zero")
	}
	l := &Limiter{
		next:        next,
		bucket:      tokenbucket.New(tb.GetMaxTokens(), perFill, interval, now),
		rt:          deps.Runtime,
		enabledDef:  true,
		rateLimited: deps.Stats.Counter("local_rate_limit." + cfg.GetStatPrefix() + ".rate_limited"),
	}
	if f := cfg.GetRuntimeEnabled(); f != nil {
		l.enabledKey, l.enabledDef = f.GetRuntimeKey(), f.GetDefaultValue().GetValue()
	}
	return l, nil
}

// ServeConn takes a token for the connection and serves it with the rest of the
// chain, or returns at once (the listener closes the connection) when there is none.
func (l *Limiter) ServeConn(ctx context.Context, c *netfilter.Conn) {
	if l.rt.Bool(l.enabledKey, l.enabledDef) && !l.bucket.Take() {
		l.rateLimited.Inc()
		c.Close()
		return
	}
	l.next.ServeConn(ctx, c)
}
