package router

import (
	"strconv"
	"time"

	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// maxStreamDuration returns when the route's max_stream_duration ends the stream (zero:
// never). With grpc_timeout_header_max set, a grpc-timeout header sets it instead, less
// grpc_timeout_header_offset and capped by the maximum (0: uncapped).
func maxStreamDuration(s *httpfilter.Stream, rt *route.Entry, start time.Time) time.Time {
	m := rt.MaxStreamDuration()
	var d time.Duration
	if m.Max != nil {
		d = *m.Max
	}
	if m.GRPCTimeoutHeaderMax != nil {
		if g, ok := parseGRPCTimeout(s.Request.Get("grpc-timeout")); ok {
			if m.GRPCTimeoutHeaderOffset != nil {
				g = max(g-*m.GRPCTimeoutHeaderOffset, time.Millisecond)
			}
			if limit := *m.GRPCTimeoutHeaderMax; limit > 0 && g > limit {
				g = limit
			}
			d = g
		}
	}
	if d <= 0 {
		return time.Time{}
	}
	return start.Add(d)
}

// parseGRPCTimeout parses a grpc-timeout header: up to 8 digits and a unit (H, M, S,
// m, u, n).
func parseGRPCTimeout(v string) (time.Duration, bool) {
	if len(v) < 2 || len(v) > 9 {
		return 0, false
	}
	n, err := strconv.ParseInt(v[:len(v)-1], 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	unit := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second,
		'm': time.Millisecond, 'u': time.Microsecond, 'n': time.Nanosecond}[v[len(v)-1]]
	if unit == 0 {
		return 0, false
	}
	return time.Duration(n) * unit, true
}
