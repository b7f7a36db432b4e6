package tokenbucket

import (
	"math"
	"sync/atomic"
	"time"
)

// epsilon absorbs floating-point rounding, so that a bucket refilled to exactly n
// tokens never reads as n-1.
const epsilon = 1e-6

// Bucket is a token bucket. It is safe for concurrent use.
type Bucket struct {
	max      float64 // tokens
	rate     float64 // tokens per second
	interval time.Duration
	now      func() time.Time
	epoch    time.Time
	// empty holds the float64 bits of the time, in seconds since epoch, at which the
	// bucket held no token; the tokens now are (now - empty) * rate, at most max.
	empty atomic.Uint64
}

// New returns a full bucket of maxTokens that gains tokensPerFill tokens every
// fillInterval. now is the clock (time.Now when nil); it should carry a monotonic
// reading. fillInterval must be positive.
func New(maxTokens, tokensPerFill uint32, fillInterval time.Duration, now func() time.Time) *Bucket {
	if now == nil {
		now = time.Now
	}
	b := &Bucket{
		max:      float64(maxTokens),
		rate:     float64(tokensPerFill) / fillInterval.Seconds(),
		interval: fillInterval,
		now:      now,
		epoch:    now(),
	}
	b.empty.Store(math.Float64bits(-b.max / b.rate))
	return b
}

// elapsed returns the clock in seconds since the bucket's epoch.
func (b *Bucket) elapsed() float64 { return b.now().Sub(b.epoch).Seconds() }

// tokens returns the tokens held at time t when the bucket was empty at e.
func (b *Bucket) tokens(t, e float64) float64 { return min(b.max, (t-e)*b.rate) }

// Take takes one token and reports whether there was one.
func (b *Bucket) Take() bool {
	t := b.elapsed()
	for {
		old := b.empty.Load()
		have := b.tokens(t, math.Float64frombits(old))
		if have+epsilon < 1 {
			return false
		}
		left := max(have-1, 0)
		if b.empty.CompareAndSwap(old, math.Float64bits(t-left/b.rate)) {
			return true
		}
	}
}

// Remaining returns the whole tokens the bucket holds now.
func (b *Bucket) Remaining() uint64 {
	have := b.tokens(b.elapsed(), math.Float64frombits(b.empty.Load()))
	if have <= 0 {
		return 0
	}
	return uint64(have + epsilon)
}

// NextToken returns how long until the bucket holds a whole token: zero when it
// holds one now.
func (b *Bucket) NextToken() time.Duration {
	have := b.tokens(b.elapsed(), math.Float64frombits(b.empty.Load()))
	if have+epsilon >= 1 {
		return 0
	}
	return time.Duration((1 - have) / b.rate * float64(time.Second))
}

// Max returns the bucket's capacity (max_tokens).
func (b *Bucket) Max() uint64 { return uint64(b.max) }

// FillRate returns the refill rate in tokens per second.
func (b *Bucket) FillRate() float64 { return b.rate }

// FillInterval returns the configured fill interval.
func (b *Bucket) FillInterval() time.Duration { return b.interval }
