package router

import (
	"context"
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/lb"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/upstream"
)

// retryOn is a set of retry conditions.
type retryOn uint32

const (
	on5xx retryOn = 1 << iota
	onGatewayError
	onReset
	onConnectFailure
	onRetriable4xx
	onRefusedStream
	onStatusCodes
	onHeaders
	onRateLimited
	onGRPCCancelled
	onGRPCDeadlineExceeded
	onGRPCResourceExhausted
	onGRPCUnavailable
	onGRPCInternal
)

var retryOnNames = map[string]retryOn{
	"5xx": on5xx, "gateway-error": onGatewayError, "reset": onReset, "connect-failure": onConnectFailure,
	"retriable-4xx": onRetriable4xx, "refused-stream": onRefusedStream, "retriable-status-codes": onStatusCodes,
	"retriable-headers": onHeaders, "envoy-ratelimited": onRateLimited, "cancelled": onGRPCCancelled,
	"deadline-exceeded": onGRPCDeadlineExceeded, "resource-exhausted": onGRPCResourceExhausted,
	"unavailable": onGRPCUnavailable, "internal": onGRPCInternal, "reset-before-request": onReset,
}

func parseRetryOn(conds []string) retryOn {
	var on retryOn
	for _, c := range conds {
		on |= retryOnNames[strings.TrimSpace(c)]
	}
	return on
}

// retryState decides, attempt by attempt, whether to try again.
type retryState struct {
	on           retryOn
	left         uint32 // retries left
	retried      uint32
	perTry       time.Duration
	perTryIdle   time.Duration // per_try_idle_timeout, enforced until the response head
	backOffBase  time.Duration
	backOffMax   time.Duration
	codes        []uint32
	headers      []*route.HeaderMatcher
	previous     bool // retry_host_predicate previous_hosts
	hostAttempts int
	// tried holds the hosts tried, for the previous_hosts predicate: the first few in
	// place, so that a request that is not retried does not allocate.
	tried     [4]netip.AddrPort
	ntried    int
	triedMore []netip.AddrPort
	exhausted bool
}

// recordTry remembers a host tried, for the previous_hosts predicate.
func (rs *retryState) recordTry(a netip.AddrPort) {
	if rs.ntried < len(rs.tried) {
		rs.tried[rs.ntried] = a
		rs.ntried++
		return
	}
	rs.triedMore = append(rs.triedMore, a)
}

// triedList returns a copy of the hosts tried.
func (rs *retryState) triedList() []netip.AddrPort {
	return append(append([]netip.AddrPort(nil), rs.tried[:rs.ntried]...), rs.triedMore...)
}

// newRetryState merges the route's (else the virtual host's) retry policy with the
// x-envoy-retry-on, x-envoy-retry-grpc-on, x-envoy-max-retries and
// x-envoy-upstream-rq-per-try-timeout-ms request headers, which it removes.
func newRetryState(s *httpfilter.Stream, rt *route.Entry, timeout time.Duration) retryState {
	rs := retryState{backOffBase: 25 * time.Millisecond, backOffMax: 250 * time.Millisecond}
	if p := rt.RetryPolicy(); p != nil {
		rs.on = parseRetryOn(p.RetryOn)
		rs.left = p.NumRetries
		rs.perTry = p.PerTryTimeout
		rs.perTryIdle = p.PerTryIdleTimeout
		if p.BackOffBase > 0 {
			rs.backOffBase, rs.backOffMax = p.BackOffBase, p.BackOffMax
		}
		rs.codes, rs.headers = p.RetriableStatusCodes, p.RetriableHeaders
		rs.previous, rs.hostAttempts = p.PreviousHosts, int(p.HostSelectionMaxAttempts)
		if !matchAll(p.RetriableRequestHeaders, &s.Request) {
			rs.on = 0
		}
	}
	rs.headerOverrides(&s.Request, rt.RetryPolicy() != nil, timeout)
	return rs
}

func (rs *retryState) headerOverrides(h *header.Map, hasPolicy bool, timeout time.Duration) {
	fromHeader := false
	for _, name := range []string{"x-envoy-retry-on", "x-envoy-retry-grpc-on"} {
		if v, ok := h.Lookup(name); ok {
			rs.on |= parseRetryOn(strings.Split(v, ","))
			h.Del(name)
			fromHeader = true
		}
	}
	if fromHeader && !hasPolicy {
		rs.left = 1
	}
	if v, ok := h.Lookup("x-envoy-max-retries"); ok {
		if n, err := strconv.ParseUint(v, 10, 32); err == nil {
			rs.left = uint32(n)
		}
		h.Del("x-envoy-max-retries")
	}
	if v, ok := h.Lookup("x-envoy-upstream-rq-per-try-timeout-ms"); ok {
		if ms, err := strconv.ParseUint(v, 10, 32); err == nil {
			if d := time.Duration(ms) * time.Millisecond; timeout == 0 || d < timeout {
				rs.perTry = d
			}
		}
		h.Del("x-envoy-upstream-rq-per-try-timeout-ms")
	}
}

func matchAll(ms []*route.HeaderMatcher, h *header.Map) bool {
	for _, m := range ms {
		if !m.Matches(h) {
			return false
		}
	}
	return true
}

// enabled reports whether any retry may happen.
func (rs *retryState) enabled() bool { return rs.on != 0 && rs.left > 0 }

// retryFailure reports whether an attempt that failed without a response is retried.
func (rs *retryState) retryFailure(f *failure) bool {
	var want retryOn
	switch f.kind {
	case failConnect:
		want = on5xx | onGatewayError | onConnectFailure | onReset
	case failReset, failPerTryTimeout:
		want = on5xx | onGatewayError | onReset
	case failRefused:
		want = on5xx | onRefusedStream | onReset
	default:
		return false
	}
	return rs.take(rs.on&want != 0)
}

// retryResponse reports whether a response is retried instead of sent downstream.
func (rs *retryState) retryResponse(status int, h *header.Map) bool {
	return rs.take(rs.retriable(status, h))
}

func (rs *retryState) retriable(status int, h *header.Map) bool {
	switch {
	case rs.on&on5xx != 0 && status >= 500:
		return true
	case rs.on&onGatewayError != 0 && (status == 502 || status == 503 || status == 504):
		return true
	case rs.on&onRetriable4xx != 0 && status == 409:
		return true
	case rs.on&onRateLimited != 0 && h.Has("x-envoy-ratelimited"):
		return true
	case rs.on&onStatusCodes != 0 && containsCode(rs.codes, status):
		return true
	case rs.on&onHeaders != 0 && anyMatch(rs.headers, h):
		return true
	}
	return rs.retriableGRPC(h)
}

func (rs *retryState) retriableGRPC(h *header.Map) bool {
	v, ok := h.Lookup("grpc-status")
	if !ok {
		return false
	}
	switch v {
	case "1":
		return rs.on&onGRPCCancelled != 0
	case "4":
		return rs.on&onGRPCDeadlineExceeded != 0
	case "8":
		return rs.on&onGRPCResourceExhausted != 0
	case "13":
		return rs.on&onGRPCInternal != 0
	case "14":
		return rs.on&onGRPCUnavailable != 0
	}
	return false
}

func containsCode(codes []uint32, status int) bool {
	for _, c := range codes {
		if int(c) == status {
			return true
		}
	}
	return false
}

func anyMatch(ms []*route.HeaderMatcher, h *header.Map) bool {
	for _, m := range ms {
		if m.Matches(h) {
			return true
		}
	}
	return false
}

// take uses one retry when the outcome is retriable; a retriable outcome with no
// retries left marks the state exhausted (URX).
func (rs *retryState) take(retriable bool) bool {
	switch {
	case !retriable:
		return false
	case rs.left == 0:
		rs.exhausted = rs.retried > 0 || rs.on != 0
		return false
	}
	rs.left--
	rs.retried++
	return true
}

// backOff waits before a retry: fully jittered exponential, in [0, (2^n-1)·base),
// capped at the maximum. It returns false when the request ended meanwhile or the wait
// would pass the deadline.
func (rs *retryState) backOff(ctx context.Context, deadline time.Time) bool {
	limit := rs.backOffBase * time.Duration((uint64(1)<<min(rs.retried, 30))-1)
	limit = min(limit, rs.backOffMax)
	if limit <= 0 {
		return true
	}
	d := rand.N(limit)
	if !deadline.IsZero() && time.Now().Add(d).After(deadline) {
		return false
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// pickContext adds the previous-hosts predicate to a retry's host pick.
func (rs *retryState) pickContext(ctx lb.Context) lb.Context {
	if !rs.previous || rs.ntried == 0 {
		return ctx
	}
	tried := rs.triedList()
	ctx.Reject = func(h lb.Host) bool {
		a := h.(*upstream.Host).Address()
		for _, t := range tried {
			if t == a {
				return true
			}
		}
		return false
	}
	ctx.MaxRejectAttempts = max(rs.hostAttempts, 1)
	return ctx
}
