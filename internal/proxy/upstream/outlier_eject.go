package upstream

import (
	"context"
	"math"
	"slices"
	"time"
)

// start runs the interval timer until stopAndWait or ctx ends.
func (d *outlierDetector) start(ctx context.Context) {
	ctx, d.stop = context.WithCancel(ctx)
	d.done = make(chan struct{})
	go d.run(ctx)
}

func (d *outlierDetector) run(ctx context.Context) {
	defer close(d.done)
	t := time.NewTicker(d.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if d.onInterval(d.now()) {
				d.c.refreshHealth()
			}
		}
	}
}

// stopAndWait stops the interval timer and waits for it to return.
func (d *outlierDetector) stopAndWait() {
	if d.stop == nil {
		return
	}
	d.stop()
	<-d.done
}

// hosts returns the hosts outlier detection watches: the membership, or an
// ORIGINAL_DST cluster's current destinations.
func (d *outlierDetector) hosts() []*Host {
	if d.c.origDst != nil {
		return d.c.OriginalHosts()
	}
	return d.c.Hosts()
}

// onConsecutive ejects h when one of its consecutive-error counters reached its
// threshold. It runs on the request that crossed the threshold.
func (d *outlierDetector) onConsecutive(h *Host, t ejectionType) {
	d.mu.Lock()
	hosts := d.hosts()
	if !slices.Contains(hosts, h) || h.Health()&FailedOutlierCheck != 0 {
		d.mu.Unlock()
		return
	}
	d.st.detected[t].Inc()
	changed := d.eject(h, t, hosts, d.now())
	m := h.outlier
	switch t {
	case eject5xx:
		d.st.consecutive5xx.Inc()
		m.consecutive5xx.Store(0)
	case ejectGatewayFailure:
		m.consecutiveGateway.Store(0)
	case ejectLocalOriginFailure:
		m.consecutiveLocal.Store(0)
	}
	d.mu.Unlock()
	if changed {
		d.c.refreshHealth()
	}
}

// eject ejects an outlier unless max_ejection_percent forbids it or the ejection type
// is not enforced this time, and reports whether it did. d.mu is held.
func (d *outlierDetector) eject(h *Host, t ejectionType, hosts []*Host, now time.Time) bool {
	if h.Health()&FailedOutlierCheck != 0 {
		return false // already ejected in this pass by another detection type
	}
	active := ejectedCount(hosts)
	allowed := 100*float64(active+1)/float64(len(hosts)) <= float64(d.cfg.maxEjectionPercent)
	if d.cfg.alwaysEjectOne && active == 0 {
		allowed = true
	}
	if !allowed {
		d.st.overflow.Inc()
		return false
	}
	if t == eject5xx || t == ejectSuccessRate {
		d.st.total.Inc()
	}
	if d.rnd(100) >= d.cfg.enforce[t] {
		return false
	}
	d.st.enforcedTotal.Inc()
	d.st.enforced[t].Inc()
	m := h.outlier
	h.setFlags(FailedOutlierCheck, true)
	m.ejections++
	m.lastEjection = now
	m.jitter = time.Duration(d.rnd(uint64(d.cfg.maxJitter/time.Millisecond)+1)) * time.Millisecond
	if time.Duration(m.backoff)*d.cfg.baseEjection < d.cfg.maxEjection+d.cfg.baseEjection {
		m.backoff++
	}
	d.st.active.Set(int64(active + 1))
	return true
}

// uneject returns an ejected host to service. d.mu is held.
func (d *outlierDetector) uneject(h *Host, now time.Time) {
	h.setFlags(FailedOutlierCheck, false)
	h.outlier.resetConsecutive()
	h.outlier.lastUnejection = now
}

func ejectedCount(hosts []*Host) int {
	n := 0
	for _, h := range hosts {
		if h.Health()&FailedOutlierCheck != 0 {
			n++
		}
	}
	return n
}

// ejectionTime is how long a host stays ejected: base_ejection_time times the
// host's backoff multiplier, at most max_ejection_time, plus its jitter.
func (d *outlierDetector) ejectionTime(m *outlierHost) time.Duration {
	return min(time.Duration(m.backoff)*d.cfg.baseEjection, d.cfg.maxEjection) + m.jitter
}

// onInterval returns hosts whose ejection time is over, runs the success-rate and
// failure-percentage detectors over the interval that ended, and lowers the backoff
// of hosts that stayed in service. It reports whether any host's health changed.
func (d *outlierDetector) onInterval(now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	hosts := d.hosts()
	changed := false
	for _, h := range hosts {
		m := h.outlier
		if h.Health()&FailedOutlierCheck != 0 && now.Sub(m.lastEjection) >= d.ejectionTime(m) {
			d.uneject(h, now)
			changed = true
		}
		for o := range m.sr {
			m.sr[o].rotate()
			m.rate[o].Store(math.Float64bits(-1))
		}
	}
	for _, o := range []origin{external, localOrigin} {
		if d.successRateEjections(o, hosts, now) {
			changed = true
		}
	}
	for _, h := range hosts {
		m := h.outlier
		if h.Health()&FailedOutlierCheck == 0 && !m.lastUnejection.IsZero() &&
			now.Sub(m.lastUnejection) >= d.cfg.interval && m.backoff > 0 {
			m.backoff--
		}
	}
	d.st.active.Set(int64(ejectedCount(hosts)))
	return changed
}

// hostRate is a host's success rate over the last interval.
type hostRate struct {
	h    *Host
	rate float64
}

// successRateEjections runs the success-rate and failure-percentage detectors of one
// origin and reports whether they ejected a host. d.mu is held.
func (d *outlierDetector) successRateEjections(o origin, hosts []*Host, now time.Time) bool {
	cfg := &d.cfg
	d.sr[o] = srSummary{-1, -1}
	if uint64(len(hosts)) < cfg.srMinHosts && uint64(len(hosts)) < cfg.fpMinHosts {
		return false
	}
	srHosts, fpHosts, sum := d.intervalRates(o, hosts)
	changed := false
	if len(srHosts) > 0 && uint64(len(srHosts)) >= cfg.srMinHosts {
		d.sr[o] = successRateThreshold(sum, srHosts, cfg.srStdevFactor)
		for _, hr := range srHosts {
			if hr.rate < d.sr[o].threshold {
				changed = d.detected(hr.h, srType(o, ejectSuccessRate), hosts, now) || changed
			}
		}
	}
	if len(fpHosts) > 0 && uint64(len(fpHosts)) >= cfg.fpMinHosts {
		for _, hr := range fpHosts {
			if 100-hr.rate >= cfg.fpThreshold {
				changed = d.detected(hr.h, srType(o, ejectFailurePercentage), hosts, now) || changed
			}
		}
	}
	return changed
}

// intervalRates collects the last interval's success rates of the hosts in service:
// those with success_rate_request_volume requests for the success-rate detector,
// those with failure_percentage_request_volume for the failure-percentage one, and
// the sum of the former. Hosts with enough requests for either publish their rate.
func (d *outlierDetector) intervalRates(o origin, hosts []*Host) (srHosts, fpHosts []hostRate, sum float64) {
	cfg := &d.cfg
	for _, h := range hosts {
		if h.Health()&FailedOutlierCheck != 0 {
			continue
		}
		rate, volume, ok := h.outlier.sr[o].last()
		if !ok {
			continue
		}
		if volume >= min(cfg.srVolume, cfg.fpVolume) {
			h.outlier.rate[o].Store(math.Float64bits(rate))
		}
		if volume >= cfg.srVolume {
			srHosts = append(srHosts, hostRate{h, rate})
			sum += rate
		}
		if volume >= cfg.fpVolume {
			fpHosts = append(fpHosts, hostRate{h, rate})
		}
	}
	return srHosts, fpHosts, sum
}

// detected counts an outlier found by an interval detector and ejects it.
func (d *outlierDetector) detected(h *Host, t ejectionType, hosts []*Host, now time.Time) bool {
	if t == ejectSuccessRate || t == ejectLocalOriginSuccessRate {
		d.st.successRateOnly.Inc()
	}
	d.st.detected[t].Inc()
	return d.eject(h, t, hosts, now)
}

// srType returns the local-origin variant of an external ejection type when o is
// localOrigin.
func srType(o origin, t ejectionType) ejectionType {
	if o == external {
		return t
	}
	if t == ejectSuccessRate {
		return ejectLocalOriginSuccessRate
	}
	return ejectLocalOriginFailurePercentage
}

// successRateThreshold returns the mean of the success rates and the ejection
// threshold: the mean minus factor standard deviations (population deviation).
func successRateThreshold(sum float64, rates []hostRate, factor float64) srSummary {
	n := float64(len(rates))
	mean := sum / n
	var variance float64
	for _, r := range rates {
		variance += (r.rate - mean) * (r.rate - mean)
	}
	stdev := math.Sqrt(variance / n)
	return srSummary{average: mean, threshold: mean - factor*stdev}
}

// healthCheckPassed unejects a host that an active health check found healthy, as
// successful_active_health_check_uneject_host asks, and reports whether it did.
func (d *outlierDetector) healthCheckPassed(h *Host) bool {
	if !d.cfg.unejectOnHealthCheck || h.Health()&(FailedOutlierCheck|FailedActiveHC) != FailedOutlierCheck {
		return false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if h.Health()&FailedOutlierCheck == 0 {
		return false
	}
	d.uneject(h, d.now())
	d.st.active.Set(int64(ejectedCount(d.hosts())))
	return true
}

// hostsChanged keeps ejections_active right when ejected hosts leave the cluster.
// An ORIGINAL_DST cluster's hosts are not its membership: its count is kept by the
// ejections and the interval.
func (d *outlierDetector) hostsChanged(hosts []*Host) {
	if d.c.origDst == nil {
		d.st.active.Set(int64(ejectedCount(hosts)))
	}
}

// summary returns the cluster-wide success-rate figures of the last interval.
func (d *outlierDetector) summary() SuccessRates {
	d.mu.Lock()
	defer d.mu.Unlock()
	return SuccessRates{
		Average: d.sr[external].average, EjectionThreshold: d.sr[external].threshold,
		LocalOriginAverage: d.sr[localOrigin].average, LocalOriginEjectionThreshold: d.sr[localOrigin].threshold,
	}
}

// SuccessRates are a cluster's outlier-detection figures of the last interval, as
// /clusters shows them: the mean success rate of the hosts with enough requests and
// the rate below which a host is ejected, for externally and locally originated
// errors; -1 when the interval did not have enough data.
type SuccessRates struct {
	Average, EjectionThreshold                       float64
	LocalOriginAverage, LocalOriginEjectionThreshold float64
}

// OutlierSuccessRates returns the cluster's success-rate figures; ok is false when
// the cluster has no outlier detection.
func (c *Cluster) OutlierSuccessRates() (rates SuccessRates, ok bool) {
	if c.outlier == nil {
		return SuccessRates{}, false
	}
	return c.outlier.summary(), true
}
