package streaminfo

import "strings"

// Flags is a set of Envoy response flags (%RESPONSE_FLAGS%).
type Flags uint64

// The response flags, in the order Envoy prints them.
const (
	FailedLocalHealthCheck Flags = 1 << iota
	NoHealthyUpstream
	UpstreamRequestTimeout
	LocalReset
	UpstreamRemoteReset
	UpstreamConnectionFailure
	UpstreamConnectionTermination
	UpstreamOverflow
	NoRouteFound
	DelayInjected
	FaultInjected
	RateLimited
	UnauthorizedExternalService
	RateLimitServiceError
	DownstreamConnectionTermination
	UpstreamRetryLimitExceeded
	StreamIdleTimeout
	InvalidEnvoyRequestHeaders
	DownstreamProtocolError
	UpstreamMaxStreamDurationReached
	ResponseFromCacheFilter
	NoFilterConfigFound
	DurationTimeout
	UpstreamProtocolError
	NoClusterFound
	OverloadManager
	DNSResolutionFailed
	DropOverload
	DownstreamRemoteReset
	UnconditionalDropOverload
	lastFlag
)

var flagNames = [...]struct{ short, long string }{
	{"LH", "FailedLocalHealthCheck"},
	{"UH", "NoHealthyUpstream"},
	{"UT", "UpstreamRequestTimeout"},
	{"LR", "LocalReset"},
	{"UR", "UpstreamRemoteReset"},
	{"UF", "UpstreamConnectionFailure"},
	{"UC", "UpstreamConnectionTermination"},
	{"UO", "UpstreamOverflow"},
	{"NR", "NoRouteFound"},
	{"DI", "DelayInjected"},
	{"FI", "FaultInjected"},
	{"RL", "RateLimited"},
	{"UAEX", "UnauthorizedExternalService"},
	{"RLSE", "RateLimitServiceError"},
	{"DC", "DownstreamConnectionTermination"},
	{"URX", "UpstreamRetryLimitExceeded"},
	{"SI", "StreamIdleTimeout"},
	{"IH", "InvalidEnvoyRequestHeaders"},
	{"DPE", "DownstreamProtocolError"},
	{"UMSDR", "UpstreamMaxStreamDurationReached"},
	{"RFCF", "ResponseFromCacheFilter"},
	{"NFCF", "NoFilterConfigFound"},
	{"DT", "DurationTimeout"},
	{"UPE", "UpstreamProtocolError"},
	{"NC", "NoClusterFound"},
	{"OM", "OverloadManagerTerminated"},
	{"DF", "DnsResolutionFailed"},
	{"DO", "DropOverload"},
	{"DR", "DownstreamRemoteReset"},
	{"UDO", "UnconditionalDropOverload"},
}

// Has reports whether every flag in f2 is set in f.
func (f Flags) Has(f2 Flags) bool { return f&f2 == f2 }

// String returns the short names joined by ",", or "-" when no flag is set, as
// %RESPONSE_FLAGS% prints them.
func (f Flags) String() string { return string(f.Append(nil, false)) }

// Long returns the long names joined by ",", or "-", as %RESPONSE_FLAGS_LONG% prints them.
func (f Flags) Long() string { return string(f.Append(nil, true)) }

// Append appends the flags' names to dst ("-" when none) and returns the result.
func (f Flags) Append(dst []byte, long bool) []byte {
	if f == 0 {
		return append(dst, '-')
	}
	first := true
	for i := range flagNames {
		if f&(1<<i) == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		if long {
			dst = append(dst, flagNames[i].long...)
		} else {
			dst = append(dst, flagNames[i].short...)
		}
	}
	return dst
}

// ParseFlag returns the flag with the given short or long name.
func ParseFlag(name string) (Flags, bool) {
	for i, n := range flagNames {
		if strings.EqualFold(n.short, name) || n.long == name {
			return 1 << i, true
		}
	}
	return 0, false
}
