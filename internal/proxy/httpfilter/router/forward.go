package router

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/lb"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
	"github.com/weftmesh/weft/internal/proxy/upstream"
)

// forward sends the request to cluster c and streams the response back. Attempts that
// fail are re-sent on a fresh connection when the failure was a reused connection the
// upstream had closed (at most once, when that is safe), and retried under the retry
// policy; the route timeout bounds them all.
func (r *Router) forward(s *httpfilter.Stream, rt *route.Entry, c *upstream.Cluster) {
	timeout := r.timeout(s, rt)
	start := time.Now()
	var deadline time.Time
	if timeout > 0 {
		deadline = start.Add(timeout)
	}
	msd := maxStreamDuration(s, rt, start)
	vc := r.vclusterFor(s, rt)
	if vc != nil {
		vc.total.Inc()
	}
	fl := forwarding{r: r, s: s, rt: rt, c: c, rs: newRetryState(s, rt, timeout), deadline: deadline, msd: msd}
	rt.FinalizeRequest(&s.Request, &s.Info)
	fl.replay = r.wrapBody(s)
	fl.lbctx, fl.setCookie = r.lbContext(s, rt)
	fl.run()
	vc.record(&s.Info, start)
	r.mirror(s, rt, fl.replay)
	if fl.replay != nil {
		s.ReplayBuffer = fl.replay.buf
	}
}

// wrapBody keeps the request body for a re-send or retry.
func (r *Router) wrapBody(s *httpfilter.Stream) *replayBody {
	if s.Body.Length() == 0 {
		return nil
	}
	rb := newReplayBody(s.Body, s.ReplayBuffer)
	s.Body = rb
	return rb
}

// forwarding is the state of one request across its attempts.
type forwarding struct {
	r        *Router
	s        *httpfilter.Stream
	rt       *route.Entry
	c        *upstream.Cluster
	rs       retryState
	replay   *replayBody
	deadline time.Time // the route timeout's end
	msd      time.Time // the max stream duration's end
	lbctx    lb.Context
	resent   bool
	retrying bool // holds a unit of the max_retries circuit breaker
	// setCookie is a generated affinity cookie to send with the response.
	setCookie string
	att       attempt // the current attempt
}

func (fl *forwarding) run() {
	s, st := fl.s, fl.c.Stats()
	fresh := false
	for n := 1; ; n++ {
		host := fl.pickHost()
		if host == nil {
			st.CxNoneHealthy.Inc()
			fl.flagExhausted()
			s.SendLocalReply(503, "no healthy upstream", streaminfo.NoHealthyUpstream, "no_healthy_upstream", fl.r.finalizer(s))
			return
		}
		a := fl.attempt(host, n, fresh)
		resp, f := a.try()
		fresh = false
		if fl.retrying {
			fl.c.Breaker(false).Retries.Release()
			fl.retrying = false
		}
		if f == nil {
			if fl.retryResponse(a, resp) {
				continue
			}
			if fl.rs.exhausted {
				fl.flagExhausted()
			}
			if n > 1 {
				st.RqRetrySuccess.Inc()
			}
			a.stream(resp)
			return
		}
		switch {
		case fl.resendStale(f):
			fresh = true
		case fl.retryFailure(f):
		default:
			a.fail(f, fl.rs.exhausted)
			return
		}
	}
}

// attempt prepares attempt number n to host.
func (fl *forwarding) attempt(host *upstream.Host, n int, fresh bool) *attempt {
	s := fl.s
	if fl.rt.AutoHostRewrite() && host.Hostname() != "" {
		s.Request.Set(header.Authority, host.Hostname())
	}
	if fl.rt.VirtualHost().IncludeRequestAttemptCount() {
		s.Request.Set("x-envoy-attempt-count", itoa(n))
	}
	s.Info.UpstreamHost, s.Info.UpstreamHostname, s.Info.Attempts = host.Address(), host.Hostname(), n
	if fl.rs.enabled() && fl.rs.previous {
		fl.rs.recordTry(host.Address())
	}
	a := &fl.att
	*a = attempt{r: fl.r, s: s, rt: fl.rt, c: fl.c, host: host, n: n, fresh: fresh, deadline: fl.deadline, msd: fl.msd, setCookie: fl.setCookie}
	if !fl.msd.IsZero() && (a.deadline.IsZero() || fl.msd.Before(a.deadline)) {
		a.deadline = fl.msd
	}
	a.tryDeadline = a.deadline
	now := time.Now()
	if p := fl.rs.perTry; p > 0 {
		if t := now.Add(p); a.tryDeadline.IsZero() || t.Before(a.tryDeadline) {
			a.tryDeadline = t
			a.perTry = true
		}
	}
	// per_try_idle_timeout: until the response head nothing arrives, so being idle that
	// long and waiting that long for the head are the same.
	if p := fl.rs.perTryIdle; p > 0 {
		if t := now.Add(p); a.tryDeadline.IsZero() || t.Before(a.tryDeadline) {
			a.tryDeadline = t
			a.perTry, a.perTryIdle = true, true
		}
	}
	return a
}

// pickHost chooses the upstream host: the original destination for ORIGINAL_DST
// clusters, otherwise the load balancer's pick, avoiding previous hosts on retries.
func (fl *forwarding) pickHost() *upstream.Host {
	c, s := fl.c, fl.s
	if c.IsOriginalDst() {
		dst := s.Info.Downstream.LocalAddress
		if name := c.OriginalDstHeader(); name != "" {
			if v, ok := s.Request.Lookup(name); ok {
				if a, err := netip.ParseAddrPort(v); err == nil {
					dst = a
				}
			}
		}
		return c.PickOriginal(dst)
	}
	return c.Pick(fl.rs.pickContext(fl.lbctx))
}

// lbContext computes the request's hash for consistent-hash balancers, and the
// Set-Cookie of a generated affinity cookie.
func (r *Router) lbContext(s *httpfilter.Stream, rt *route.Entry) (ctx lb.Context, setCookie string) {
	if hp := rt.HashPolicies(); len(hp) > 0 {
		ctx.Hash, ctx.HasHash, setCookie = hashRequest(hp, s)
	}
	return ctx, setCookie
}

// rewind makes the request body readable again for another attempt.
func (fl *forwarding) rewind() bool {
	return fl.replay == nil || fl.replay.Rewind()
}

// resendStale re-sends, once and on a fresh connection, a request that failed on a
// reused connection before any response byte came back, when that is safe: the
// upstream provably did not get the whole request, or the method is idempotent. This
// is what keeps seed 001's 503 UC (keep-alive race) from reaching clients.
func (fl *forwarding) resendStale(f *failure) bool {
	if fl.resent || !f.reused || !f.noResponse || f.kind != failReset {
		return false
	}
	if f.wroteAll && !idempotent(fl.s.Request.Get(header.Method)) {
		return false
	}
	if !fl.rewind() {
		return false
	}
	fl.resent = true
	fl.c.Stats().RqStaleResend.Inc()
	return true
}

// retryFailure applies the retry policy to a failed attempt.
func (fl *forwarding) retryFailure(f *failure) bool {
	if !fl.rs.retryFailure(f) {
		return false
	}
	return fl.beginRetry()
}

// retryResponse applies the retry policy to a response before it goes downstream.
func (fl *forwarding) retryResponse(a *attempt, resp *upstreamResponse) bool {
	if !fl.rs.retryResponse(resp.status, resp.headers) {
		return false
	}
	if !fl.beginRetry() {
		return false
	}
	a.discard(resp)
	return true
}

// beginRetry checks the body can be sent again and the max_retries circuit breaker,
// then waits out the back-off.
func (fl *forwarding) beginRetry() bool {
	st := fl.c.Stats()
	if !fl.rewind() {
		st.RetryOrShadowAband.Inc()
		return false
	}
	b := fl.c.Breaker(false)
	if !b.Retries.TryAcquire() {
		st.RqRetryOverflow.Inc()
		return false
	}
	st.RqRetry.Inc()
	st.RqRetryBackoffExp.Inc()
	if !fl.rs.backOff(fl.s.Ctx, fl.deadline) {
		b.Retries.Release()
		return false
	}
	fl.retrying = true
	return true
}

func (fl *forwarding) flagExhausted() {
	if fl.rs.exhausted {
		fl.s.Info.AddFlag(streaminfo.UpstreamRetryLimitExceeded)
		fl.c.Stats().RqRetryLimitExceed.Inc()
	}
}

// itoa formats small attempt counts without allocating.
func itoa(n int) string {
	const digits = "0123456789"
	if n >= 0 && n < 10 {
		return digits[n : n+1]
	}
	return strconv.Itoa(n)
}
