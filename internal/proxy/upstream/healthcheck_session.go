package upstream

import (
	"context"
	"time"
)

// transition is how a check changed the host's health, as Envoy's HealthTransition.
type transition int

const (
	unchanged transition = iota
	// pending: the check disagreed with the host's state, but the threshold that
	// flips it is not reached yet.
	pending
	changed
)

// hcSession checks one host until its context ends. Its counters belong to its
// goroutine.
type hcSession struct {
	k      *healthChecker
	h      *Host
	p      probe
	cancel context.CancelFunc

	first                    bool
	numHealthy, numUnhealthy uint32
}

func (s *hcSession) run(ctx context.Context) {
	defer s.p.close()
	var delay time.Duration
	if j := s.k.cfg.initialJitter; j > 0 {
		delay = time.Duration(s.k.rnd(uint64(j)))
	}
	for sleep(ctx, delay) {
		s.k.st.attempt.Inc()
		cctx, cancel := context.WithTimeout(ctx, s.k.cfg.timeout)
		r := s.p.check(cctx)
		cancel()
		if ctx.Err() != nil {
			return // stopped while checking: the result means nothing
		}
		delay = s.apply(r)
	}
}

// sleep waits for d and reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// apply records a result, rebuilds the cluster's membership when the host's health
// changed, and returns the time until the next check.
func (s *hcSession) apply(r hcResult) time.Duration {
	passed, t := s.record(r)
	refresh := t == changed
	if passed && s.k.c.outlier != nil && s.k.c.outlier.healthCheckPassed(s.h) {
		refresh = true
	}
	if refresh {
		s.k.c.refreshHealth()
	}
	if t == changed {
		s.k.mu.Lock()
		s.k.updateGauges()
		s.k.mu.Unlock()
	}
	return s.k.nextInterval(passed, s.h.Health()&FailedActiveHC == 0, t)
}

// record applies a result to the host's flags and the session's counters, as
// Envoy's health checker does: the first check of a host decides at once; after
// that healthy_threshold consecutive passes make an unhealthy host healthy, and
// unhealthy_threshold consecutive network or retriable failures (or a single failed
// answer) make a healthy host unhealthy.
func (s *hcSession) record(r hcResult) (passed bool, t transition) {
	first := s.first
	s.first = false
	if r == hcSuccess || r == hcDegraded {
		s.k.st.success.Inc()
		s.numUnhealthy = 0
		if s.h.Health()&FailedActiveHC != 0 {
			s.numHealthy++
			t = pending
			if first || s.numHealthy == s.k.cfg.healthyThreshold {
				s.h.setFlags(FailedActiveHC, false)
				s.h.startSlowStart() // as Envoy: the window begins when the host turns healthy
				t = changed
			}
		}
		if s.h.setFlags(DegradedActiveHC, r == hcDegraded) && t == unchanged {
			t = changed
		}
		return true, t
	}
	s.k.st.failure.Inc()
	if r == hcNetwork {
		s.k.st.networkFailure.Inc()
	}
	s.numHealthy = 0
	if s.h.Health()&FailedActiveHC == 0 {
		t = pending
		if r == hcFailed {
			t = changed
		} else if s.numUnhealthy++; s.numUnhealthy == s.k.cfg.unhealthyThreshold {
			t = changed
		}
		if t == changed {
			s.h.setFlags(FailedActiveHC, true)
		}
	}
	return false, t
}

// nextInterval is the time until the next check. A cluster that never had a
// connection is checked every no_traffic_interval (no_traffic_healthy_interval for a
// healthy host); otherwise after a pass the interval is interval, or
// healthy_edge_interval while an unhealthy host is on its way back, and after a
// failure unhealthy_interval, or unhealthy_edge_interval while a healthy host is on
// its way out. Jitter is added on top.
func (k *healthChecker) nextInterval(passed, healthy bool, t transition) time.Duration {
	cfg := &k.cfg
	var d time.Duration
	switch {
	case !k.c.carriedTraffic() && passed && healthy:
		d = cfg.noTrafficHealthy
	case !k.c.carriedTraffic():
		d = cfg.noTraffic
	case passed && t == pending:
		d = cfg.healthyEdge
	case passed:
		d = cfg.interval
	case t == pending:
		d = cfg.unhealthyEdge
	default:
		d = cfg.unhealthyInterval
	}
	if p := uint64(cfg.jitterPercent) * uint64(d) / 100; p > 0 {
		d += time.Duration(k.rnd(p))
	}
	if cfg.intervalJitter > 0 {
		d += time.Duration(k.rnd(uint64(cfg.intervalJitter)))
	}
	return d
}
