package config

import (
	"math"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

// validateDestinationRule checks a DestinationRule: host, traffic policy, subsets,
// exportTo and workload selector.
func validateDestinationRule(fe *fieldErrors, namespace string, dr *networking.DestinationRule) {
	if dr.Host == "" {
		fe.add("spec.host", "is required")
	} else {
		fe.check("spec.host", checkWildcardDomain(dr.Host))
	}
	validateTrafficPolicy(fe, "spec.trafficPolicy", dr.TrafficPolicy)
	seen := map[string]int{}
	for i, s := range dr.Subsets {
		sp := index("spec.subsets", i)
		if s == nil {
			fe.add(sp, "must not be null")
			continue
		}
		first, dup := seen[s.Name]
		switch {
		case s.Name == "":
			fe.add(field(sp, "name"), "is required")
		case !isDNSLabel(s.Name):
			fe.add(field(sp, "name"), "%q is not a valid subset name (a DNS label)", s.Name)
		case dup:
			fe.add(field(sp, "name"), "duplicate subset name %q (also spec.subsets[%d])", s.Name, first)
		}
		if !dup {
			seen[s.Name] = i
		}
		validateLabelMap(fe, field(sp, "labels"), s.Labels)
		validateTrafficPolicy(fe, field(sp, "trafficPolicy"), s.TrafficPolicy)
	}
	validateExportTo(fe, "spec.exportTo", namespace, dr.ExportTo, false)
	if sel := dr.WorkloadSelector; sel != nil {
		validateSelectorLabels(fe, "spec.workloadSelector.matchLabels", sel.MatchLabels)
		for i, e := range dr.ExportTo {
			if e != "." && e != namespace {
				fe.add(index("spec.exportTo", i), "a destination rule with a workload selector can only be exported to its own namespace")
			}
		}
	}
}

// validateTrafficPolicy checks a traffic policy and its port-level settings.
func validateTrafficPolicy(fe *fieldErrors, p string, tp *networking.TrafficPolicy) {
	if tp == nil {
		return
	}
	if tp.LoadBalancer == nil && tp.ConnectionPool == nil && tp.OutlierDetection == nil && tp.Tls == nil &&
		tp.PortLevelSettings == nil && tp.Tunnel == nil && tp.ProxyProtocol == nil && tp.RetryBudget == nil {
		fe.add(p, "traffic policy must set at least one field")
		return
	}
	if tp.Tunnel != nil && tp.ProxyProtocol != nil {
		fe.add(p, "tunnel and proxyProtocol cannot be set together")
	}
	validatePolicyParts(fe, p, tp.LoadBalancer, tp.ConnectionPool, tp.OutlierDetection, tp.Tls)
	for i, pl := range tp.PortLevelSettings {
		pp := index(field(p, "portLevelSettings"), i)
		switch {
		case pl == nil:
			fe.add(pp, "must not be null")
			continue
		case pl.Port == nil:
			fe.add(field(pp, "port"), "is required")
		default:
			fe.check(field(pp, "port.number"), checkPort(pl.Port.Number))
		}
		if pl.LoadBalancer == nil && pl.ConnectionPool == nil && pl.OutlierDetection == nil && pl.Tls == nil {
			fe.add(pp, "port traffic policy must set at least one field")
		}
		validatePolicyParts(fe, pp, pl.LoadBalancer, pl.ConnectionPool, pl.OutlierDetection, pl.Tls)
	}
}

// validatePolicyParts checks the parts a traffic policy and a port traffic policy share.
func validatePolicyParts(fe *fieldErrors, p string, lb *networking.LoadBalancerSettings,
	cp *networking.ConnectionPoolSettings, od *networking.OutlierDetection, tls *networking.ClientTLSSettings,
) {
	validateLoadBalancer(fe, field(p, "loadBalancer"), lb, od)
	validateConnectionPool(fe, field(p, "connectionPool"), cp)
	validateOutlierDetection(fe, field(p, "outlierDetection"), od)
	validateClientTLS(fe, field(p, "tls"), tls)
}

// validateConnectionPool checks connection pool limits: none negative, valid durations.
func validateConnectionPool(fe *fieldErrors, p string, cp *networking.ConnectionPoolSettings) {
	if cp == nil {
		return
	}
	if cp.Tcp == nil && cp.Http == nil {
		fe.add(p, "at least one of tcp or http is required")
		return
	}
	if h := cp.Http; h != nil {
		hp := field(p, "http")
		nonNegative(fe, hp, "http1MaxPendingRequests", h.Http1MaxPendingRequests)
		nonNegative(fe, hp, "http2MaxRequests", h.Http2MaxRequests)
		nonNegative(fe, hp, "maxRequestsPerConnection", h.MaxRequestsPerConnection)
		nonNegative(fe, hp, "maxRetries", h.MaxRetries)
		nonNegative(fe, hp, "maxConcurrentStreams", h.MaxConcurrentStreams)
		if h.IdleTimeout != nil {
			fe.check(field(hp, "idleTimeout"), checkDuration(h.IdleTimeout))
		}
		if h.H2UpgradePolicy == networking.ConnectionPoolSettings_HTTPSettings_UPGRADE && h.UseClientProtocol {
			fe.add(field(hp, "useClientProtocol"), "cannot be true when h2UpgradePolicy is UPGRADE")
		}
	}
	if t := cp.Tcp; t != nil {
		tp := field(p, "tcp")
		nonNegative(fe, tp, "maxConnections", t.MaxConnections)
		for _, d := range []struct {
			name string
			ok   bool
			err  error
		}{
			{"connectTimeout", t.ConnectTimeout != nil, checkDuration(t.ConnectTimeout)},
			{"maxConnectionDuration", t.MaxConnectionDuration != nil, checkDuration(t.MaxConnectionDuration)},
			{"idleTimeout", t.IdleTimeout != nil, checkDuration(t.IdleTimeout)},
		} {
			if d.ok {
				fe.check(field(tp, d.name), d.err)
			}
		}
	}
}

// nonNegative records a negative limit.
func nonNegative(fe *fieldErrors, p, name string, v int32) {
	if v < 0 {
		fe.add(field(p, name), "%d must not be negative", v)
	}
}

// validateOutlierDetection checks outlier detection: durations and percentages.
func validateOutlierDetection(fe *fieldErrors, p string, od *networking.OutlierDetection) {
	if od == nil {
		return
	}
	if od.Interval != nil {
		fe.check(field(p, "interval"), checkDuration(od.Interval))
	}
	if od.BaseEjectionTime != nil {
		fe.check(field(p, "baseEjectionTime"), checkDuration(od.BaseEjectionTime))
	}
	if od.MaxEjectionPercent < 0 || od.MaxEjectionPercent > 100 {
		fe.add(field(p, "maxEjectionPercent"), "percentage %d must be in 0..100", od.MaxEjectionPercent)
	}
	if od.MinHealthPercent < 0 || od.MinHealthPercent > 100 {
		fe.add(field(p, "minHealthPercent"), "percentage %d must be in 0..100", od.MinHealthPercent)
	}
	if !od.SplitExternalLocalOriginErrors && od.ConsecutiveLocalOriginFailures.GetValue() > 0 {
		fe.add(field(p, "consecutiveLocalOriginFailures"), "needs splitExternalLocalOriginErrors: true")
	}
	for i, code := range od.OutlierDetectionHttpErrorCodes {
		if code < 100 || code > 599 {
			fe.add(index(field(p, "outlierDetectionHttpErrorCodes"), i), "HTTP status %d must be in 100..599", code)
		}
	}
}

// validateLoadBalancer checks load balancer settings: consistent hash parameters and
// locality settings.
func validateLoadBalancer(fe *fieldErrors, p string, lb *networking.LoadBalancerSettings, od *networking.OutlierDetection) {
	if lb == nil {
		return
	}
	if ch := lb.GetConsistentHash(); ch != nil {
		cp := field(p, "consistentHash")
		if c := ch.GetHttpCookie(); c != nil && c.Name == "" {
			fe.add(field(cp, "httpCookie.name"), "is required")
		}
		if ch.MinimumRingSize != 0 && ch.HashAlgorithm != nil { //nolint:staticcheck // checking the deprecated field is the point
			fe.add(cp, "only one of minimumRingSize and ringHash/maglev may be set")
		}
		if m := ch.GetMaglev(); m != nil && (m.TableSize == 0 || m.TableSize >= 5000011 || !isPrime(m.TableSize)) {
			fe.add(field(cp, "maglev.tableSize"), "table size %d must be a prime below 5000011", m.TableSize)
		}
	}
	if lb.WarmupDurationSecs != nil {
		fe.check(field(p, "warmupDurationSecs"), checkDuration(lb.WarmupDurationSecs))
	}
	validateLocalityLB(fe, field(p, "localityLbSetting"), lb.LocalityLbSetting)
}

// validateLocalityLB checks locality weighted distribution and failover.
func validateLocalityLB(fe *fieldErrors, p string, l *networking.LocalityLoadBalancerSetting) {
	if l == nil {
		return
	}
	if len(l.Distribute) > 0 && len(l.Failover) > 0 {
		fe.add(p, "distribute and failover cannot be set together")
		return
	}
	for i, d := range l.Distribute {
		dp := index(field(p, "distribute"), i)
		var total uint32
		for _, loc := range sortedKeys(d.GetTo()) {
			w := d.To[loc]
			if w < 1 || w > 100 {
				fe.add(key(field(dp, "to"), loc), "weight %d must be in 1..100", w)
			}
			total += w
		}
		if total != 100 {
			fe.add(field(dp, "to"), "weights sum to %d, want 100", total)
		}
	}
	for i, f := range l.Failover {
		fp := index(field(p, "failover"), i)
		switch {
		case f.GetFrom() == f.GetTo():
			fe.add(fp, "from and to must be different regions")
		case strings.ContainsAny(f.GetFrom()+f.GetTo(), "/*"):
			fe.add(fp, "from and to must be region names, without '/' or '*'")
		}
	}
}

// isPrime reports whether x is prime (maglev table sizes must be).
func isPrime(x uint64) bool {
	if x < 2 {
		return false
	}
	if x < 4 {
		return true
	}
	if x%2 == 0 {
		return false
	}
	limit := uint64(math.Sqrt(float64(x)))
	for f := uint64(3); f <= limit; f += 2 {
		if x%f == 0 {
			return false
		}
	}
	return true
}

// validateClientTLS checks client TLS settings: MUTUAL needs a certificate and key
// unless they come from credentialName, and insecureSkipVerify excludes CA settings.
func validateClientTLS(fe *fieldErrors, p string, t *networking.ClientTLSSettings) {
	if t == nil {
		return
	}
	simpleOrMutual := t.Mode == networking.ClientTLSSettings_SIMPLE || t.Mode == networking.ClientTLSSettings_MUTUAL
	if t.GetInsecureSkipVerify().GetValue() && simpleOrMutual && (t.CaCertificates != "" || len(t.SubjectAltNames) > 0) {
		fe.add(field(p, "insecureSkipVerify"), "cannot be combined with caCertificates or subjectAltNames")
	}
	if simpleOrMutual && t.CredentialName != "" {
		if t.ClientCertificate != "" || t.PrivateKey != "" || t.CaCertificates != "" || t.CaCrl != "" {
			fe.add(field(p, "credentialName"), "cannot be combined with clientCertificate, privateKey, caCertificates or caCrl")
		}
		return
	}
	if t.Mode == networking.ClientTLSSettings_MUTUAL {
		if t.ClientCertificate == "" {
			fe.add(field(p, "clientCertificate"), "is required for MUTUAL TLS")
		}
		if t.PrivateKey == "" {
			fe.add(field(p, "privateKey"), "is required for MUTUAL TLS")
		}
	}
}
