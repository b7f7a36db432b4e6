package accesslog

import (
	"errors"
	"fmt"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// filter decides whether an entry is logged.
type filter interface {
	match(info *streaminfo.Info) bool
}

// buildFilter compiles an AccessLogFilter. Unsupported filters are an error naming
// their type URL.
func buildFilter(f *accesslogv3.AccessLogFilter) (filter, error) {
	switch s := f.GetFilterSpecifier().(type) {
	case *accesslogv3.AccessLogFilter_StatusCodeFilter:
		c, err := newComparison(s.StatusCodeFilter.GetComparison())
		return statusCodeFilter{c}, err
	case *accesslogv3.AccessLogFilter_DurationFilter:
		c, err := newComparison(s.DurationFilter.GetComparison())
		return durationFilter{c}, err
	case *accesslogv3.AccessLogFilter_NotHealthCheckFilter:
		return notHealthCheckFilter{}, nil
	case *accesslogv3.AccessLogFilter_ResponseFlagFilter:
		return newResponseFlagFilter(s.ResponseFlagFilter)
	case *accesslogv3.AccessLogFilter_HeaderFilter:
		hm, err := newHeaderMatcher(s.HeaderFilter.GetHeader())
		return headerFilter{hm}, err
	case *accesslogv3.AccessLogFilter_AndFilter:
		fs, err := buildFilters(s.AndFilter.GetFilters(), "and_filter")
		return andFilter(fs), err
	case *accesslogv3.AccessLogFilter_OrFilter:
		fs, err := buildFilters(s.OrFilter.GetFilters(), "or_filter")
		return orFilter(fs), err
	case *accesslogv3.AccessLogFilter_ExtensionFilter:
		return nil, fmt.Errorf("unsupported access log filter extension %s", s.ExtensionFilter.GetTypedConfig().GetTypeUrl())
	case nil:
		return nil, errors.New("no filter set")
	}
	return nil, fmt.Errorf("unsupported access log filter %s", filterTypeURL(f))
}

// filterTypeURL names the message type of the filter that is set.
func filterTypeURL(f *accesslogv3.AccessLogFilter) string {
	m := f.ProtoReflect()
	fd := m.WhichOneof(m.Descriptor().Oneofs().ByName("filter_specifier"))
	if fd == nil || fd.Message() == nil {
		return "(unknown)"
	}
	return "type.googleapis.com/" + string(fd.Message().FullName())
}

func buildFilters(cfgs []*accesslogv3.AccessLogFilter, name string) ([]filter, error) {
	fs := make([]filter, 0, len(cfgs))
	for i, c := range cfgs {
		f, err := buildFilter(c)
		if err != nil {
			return nil, fmt.Errorf("%s.filters[%d]: %w", name, i, err)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// comparison is a ComparisonFilter. weft has no runtime layer, so a runtime_key
// always resolves to the default value.
type comparison struct {
	op    accesslogv3.ComparisonFilter_Op
	value uint64
}

func newComparison(c *accesslogv3.ComparisonFilter) (comparison, error) {
	if c == nil || c.GetValue() == nil {
		return comparison{}, errors.New("comparison with a value is required")
	}
	switch c.GetOp() {
	case accesslogv3.ComparisonFilter_EQ, accesslogv3.ComparisonFilter_GE,
		accesslogv3.ComparisonFilter_LE, accesslogv3.ComparisonFilter_NE:
	default:
		return comparison{}, fmt.Errorf("unknown comparison op %v", c.GetOp())
	}
	return comparison{op: c.GetOp(), value: uint64(c.GetValue().GetDefaultValue())}, nil
}

func (c comparison) holds(v uint64) bool {
	switch c.op {
	case accesslogv3.ComparisonFilter_GE:
		return v >= c.value
	case accesslogv3.ComparisonFilter_LE:
		return v <= c.value
	case accesslogv3.ComparisonFilter_NE:
		return v != c.value
	}
	return v == c.value
}

// statusCodeFilter compares the response code; no response compares as 0.
type statusCodeFilter struct{ c comparison }

func (f statusCodeFilter) match(info *streaminfo.Info) bool {
	return f.c.holds(uint64(max(info.ResponseCode, 0)))
}

// durationFilter compares the duration in milliseconds: the total for a finished
// stream, the time so far otherwise.
type durationFilter struct{ c comparison }

func (f durationFilter) match(info *streaminfo.Info) bool {
	d := info.End
	if d <= 0 {
		if info.Start.IsZero() {
			return false
		}
		d = info.Since()
	}
	return f.c.holds(uint64(d.Milliseconds()))
}

// notHealthCheckFilter passes everything but health check requests.
type notHealthCheckFilter struct{}

func (notHealthCheckFilter) match(info *streaminfo.Info) bool { return !info.HealthCheck }

// responseFlagFilter passes entries with any of its flags, or with any flag at all
// when it lists none.
type responseFlagFilter struct{ mask streaminfo.Flags }

func newResponseFlagFilter(c *accesslogv3.ResponseFlagFilter) (filter, error) {
	var mask streaminfo.Flags
	for _, name := range c.GetFlags() {
		f, ok := streaminfo.ParseFlag(name)
		if !ok {
			return nil, fmt.Errorf("response_flag_filter: unknown response flag %q", name)
		}
		mask |= f
	}
	return responseFlagFilter{mask}, nil
}

func (f responseFlagFilter) match(info *streaminfo.Info) bool {
	if f.mask == 0 {
		return info.Flags != 0
	}
	return info.Flags&f.mask != 0
}

// headerFilter matches a request header.
type headerFilter struct{ m *headerMatcher }

func (f headerFilter) match(info *streaminfo.Info) bool { return f.m.matches(info.RequestHeaders) }

// andFilter passes when every filter does; evaluation stops at the first failure.
type andFilter []filter

func (fs andFilter) match(info *streaminfo.Info) bool {
	for _, f := range fs {
		if !f.match(info) {
			return false
		}
	}
	return true
}

// orFilter passes when any filter does; evaluation stops at the first success.
type orFilter []filter

func (fs orFilter) match(info *streaminfo.Info) bool {
	for _, f := range fs {
		if f.match(info) {
			return true
		}
	}
	return false
}
