package lb

import (
	"fmt"
	"math"
	"time"
)

// SlowStart ramps a new host's share of traffic up over a window (Envoy's
// slow_start_config, for round robin and least request). A host in its window has its
// weight scaled by max(MinWeightPercent/100, (max(t, 1s) / Window)^(1/Aggression)), t
// being the time since the window began.
type SlowStart struct {
	// Window is how long a host stays in slow start; 0 disables slow start.
	Window time.Duration
	// Aggression shapes the ramp: 1 is linear, more is faster at first; 0 means 1.
	Aggression float64
	// MinWeightPercent is the least share of its weight a host gets; 0 means 10.
	MinWeightPercent float64
}

// SlowStartHost is a host that may be in slow start. The upstream implements it: the
// window begins when the host joins the cluster, or, with active health checks, each
// time it passes its first check after failing (or being new).
type SlowStartHost interface {
	// SlowStartSince returns when the host's slow start window began; zero for never.
	SlowStartSince() time.Time
}

// DefaultSlowStartMinWeightPercent is Envoy's min_weight_percent default.
const DefaultSlowStartMinWeightPercent = 10

func (s *SlowStart) check() error {
	switch {
	case s.Window < 0:
		return fmt.Errorf("slow start window %v: must not be negative", s.Window)
	case s.Aggression < 0 || math.IsNaN(s.Aggression) || math.IsInf(s.Aggression, 0):
		return fmt.Errorf("slow start aggression %v: must be a finite number > 0", s.Aggression)
	case s.MinWeightPercent < 0 || s.MinWeightPercent > 100 || math.IsNaN(s.MinWeightPercent):
		return fmt.Errorf("slow start min weight percent %v: must be between 0 and 100", s.MinWeightPercent)
	}
	return nil
}

// factor is the share of its weight h gets at now: 1 outside slow start.
func (s *SlowStart) factor(h Host, now time.Time) float64 {
	if s == nil || s.Window <= 0 {
		return 1
	}
	ss, ok := h.(SlowStartHost)
	if !ok {
		return 1
	}
	since := ss.SlowStartSince()
	if since.IsZero() {
		return 1
	}
	elapsed := now.Sub(since)
	if elapsed >= s.Window {
		return 1
	}
	aggression := s.Aggression
	if aggression == 0 {
		aggression = 1
	}
	minPct := s.MinWeightPercent
	if minPct == 0 {
		minPct = DefaultSlowStartMinWeightPercent
	}
	t := max(elapsed, time.Second).Seconds() / s.Window.Seconds()
	return max(minPct/100, math.Pow(min(t, 1), 1/aggression))
}

// SlowStartRefresh says how soon a policy built at now over sets should be rebuilt for
// the weights of hosts in slow start to move on: 0 when no host is in slow start (or it
// is off). The ramp moves in steps of a twentieth of the window, between 100 ms and 1 s.
func (o Options) SlowStartRefresh(sets []HostSet, now time.Time) time.Duration {
	s := o.SlowStart
	if s == nil || s.Window <= 0 {
		return 0
	}
	for _, set := range sets {
		for _, h := range set.Hosts {
			if s.factor(h, now) < 1 {
				return min(max(s.Window/20, 100*time.Millisecond), time.Second)
			}
		}
	}
	return 0
}
