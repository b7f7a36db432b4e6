package ratelimit

import (
	"container/list"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	lrlv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/local_ratelimit/v3"

	"github.com/weftmesh/weft/internal/proxy/tokenbucket"
)

// entry is one descriptor entry.
type entry struct{ key, value string }

// descriptor is a list of entries; a request's descriptors come from rate_limits.
type descriptor []entry

// limiter holds a config's buckets: the default one and the descriptors'.
type limiter struct {
	bucket        *tokenbucket.Bucket // nil: no token_bucket, requests pass
	static        []staticDescriptor
	dynamic       []*dynamicDescriptor
	alwaysDefault bool
}

// staticDescriptor is a configured descriptor without wildcards.
type staticDescriptor struct {
	entries descriptor
	bucket  *tokenbucket.Bucket
}

func newLimiter(cfg *lrlv3.LocalRateLimit, now func() time.Time) (*limiter, error) {
	l := &limiter{alwaysDefault: cfg.GetAlwaysConsumeDefaultTokenBucket() == nil || cfg.GetAlwaysConsumeDefaultTokenBucket().GetValue()}
	if tb := cfg.GetTokenBucket(); tb != nil {
		spec, err := specOf(tb)
		if err != nil {
			return nil, fmt.Errorf("token_bucket.%w", err)
		}
		l.bucket = spec.build(now)
	}
	lru := 20
	if m := cfg.GetMaxDynamicDescriptors(); m != nil {
		lru = max(int(m.GetValue()), 1)
	}
	seen := map[string]bool{}
	for i, d := range cfg.GetDescriptors() {
		var entries descriptor
		wildcard := false
		for _, e := range d.GetEntries() {
			entries = append(entries, entry{e.GetKey(), e.GetValue()})
			wildcard = wildcard || e.GetValue() == ""
		}
		if k := entries.String(); seen[k] {
			return nil, fmt.Errorf("descriptors[%d]: duplicate descriptor %s", i, k)
		}
		seen[entries.String()] = true
		spec, err := specOf(d.GetTokenBucket())
		if err != nil {
			return nil, fmt.Errorf("descriptors[%d].token_bucket.%w", i, err)
		}
		if wildcard {
			l.dynamic = append(l.dynamic, &dynamicDescriptor{entries: entries, spec: spec, now: now, size: lru,
				order: list.New(), byKey: map[string]dynamicBucket{}})
			continue
		}
		l.static = append(l.static, staticDescriptor{entries, spec.build(now)})
	}
	return l, nil
}

// hasDescriptors reports whether any descriptor is configured, so that request
// descriptors are worth building.
func (l *limiter) hasDescriptors() bool { return len(l.static) > 0 || len(l.dynamic) > 0 }

// String renders the descriptor as Envoy logs it: key=value pairs.
func (d descriptor) String() string {
	var b strings.Builder
	for i, e := range d {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(strconv.Quote(e.key) + "=" + strconv.Quote(e.value))
	}
	return "{" + b.String() + "}"
}

func (d descriptor) equal(o descriptor) bool {
	if len(d) != len(o) {
		return false
	}
	for i := range d {
		if d[i] != o[i] {
			return false
		}
	}
	return true
}

// bucketFor returns the bucket of the configured descriptor the request descriptor
// matches exactly, else of the wildcard descriptor it matches, else nil.
func (l *limiter) bucketFor(d descriptor) *tokenbucket.Bucket {
	for i := range l.static {
		if l.static[i].entries.equal(d) {
			return l.static[i].bucket
		}
	}
	for _, dyn := range l.dynamic {
		if dyn.matches(d) {
			return dyn.bucket(d)
		}
	}
	return nil
}

// allow takes a token for a request with descriptors ds, as Envoy's local rate
// limiter does: each matched descriptor's bucket, slowest-filling first, then the
// default bucket when nothing matched or always_consume_default_token_bucket is set.
// It returns whether the request may pass and the bucket that decided (nil when no
// bucket applied): the one that refused, or the most restrictive one that allowed.
func (l *limiter) allow(ds []descriptor) (bool, *tokenbucket.Bucket) {
	var buf [8]*tokenbucket.Bucket
	matched := buf[:0]
	for _, d := range ds {
		if b := l.bucketFor(d); b != nil {
			matched = insertByRate(matched, b)
		}
	}
	for _, b := range matched {
		if !b.Take() {
			return false, b
		}
	}
	if len(matched) > 0 && !l.alwaysDefault {
		return true, matched[0]
	}
	if l.bucket == nil {
		if len(matched) > 0 {
			return true, matched[0]
		}
		return true, nil
	}
	if !l.bucket.Take() {
		return false, l.bucket
	}
	if len(matched) > 0 {
		return true, matched[0]
	}
	return true, l.bucket
}

// insertByRate inserts b keeping bs sorted by fill rate, slowest first.
func insertByRate(bs []*tokenbucket.Bucket, b *tokenbucket.Bucket) []*tokenbucket.Bucket {
	bs = append(bs, b)
	for i := len(bs) - 1; i > 0 && bs[i].FillRate() < bs[i-1].FillRate(); i-- {
		bs[i], bs[i-1] = bs[i-1], bs[i]
	}
	return bs
}

// dynamicDescriptor is a configured descriptor with wildcard values: each distinct
// request descriptor it matches gets a bucket of its own, the least recently used
// dropped beyond max_dynamic_descriptors.
type dynamicDescriptor struct {
	entries descriptor
	spec    bucketSpec
	now     func() time.Time
	size    int

	mu    sync.Mutex
	order *list.List // of string keys, most recent first
	byKey map[string]dynamicBucket
}

type dynamicBucket struct {
	bucket *tokenbucket.Bucket
	elem   *list.Element
}

// matches reports whether d has the same keys, and the same values where the config
// gives one.
func (dd *dynamicDescriptor) matches(d descriptor) bool {
	if len(d) != len(dd.entries) {
		return false
	}
	for i, e := range dd.entries {
		if d[i].key != e.key || (e.value != "" && d[i].value != e.value) {
			return false
		}
	}
	return true
}

// bucket returns d's bucket, creating it (and evicting the least recently used one)
// when d is new.
func (dd *dynamicDescriptor) bucket(d descriptor) *tokenbucket.Bucket {
	key := d.String()
	dd.mu.Lock()
	defer dd.mu.Unlock()
	if b, ok := dd.byKey[key]; ok {
		dd.order.MoveToFront(b.elem)
		return b.bucket
	}
	b := dynamicBucket{bucket: dd.spec.build(dd.now), elem: dd.order.PushFront(key)}
	dd.byKey[key] = b
	if dd.order.Len() > dd.size {
		last := dd.order.Back()
		dd.order.Remove(last)
		delete(dd.byKey, last.Value.(string))
	}
	return b.bucket
}
