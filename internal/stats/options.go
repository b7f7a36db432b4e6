package stats

import (
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
)

// Format is an output format of the admin /stats endpoint.
type Format int

// Output formats, as /stats?format= names them.
const (
	FormatText Format = iota
	FormatJSON
	FormatPrometheus
)

// StatType selects the kinds of stats to write (/stats?type=).
type StatType int

// Stat types, as Envoy's /stats?type= names them.
const (
	TypeAll StatType = iota
	TypeCounters
	TypeGauges
	TypeHistograms
	TypeTextReadouts
)

// BucketMode selects how histograms are written (/stats?histogram_buckets=).
type BucketMode int

// Histogram bucket modes. BucketsNone writes quantiles; Cumulative and Disjoint
// write the default buckets with counts at-or-below each bound or between bounds;
// Summary writes Prometheus summaries of the interval quantiles.
const (
	BucketsNone BucketMode = iota
	BucketsCumulative
	BucketsDisjoint
	BucketsSummary
)

// Options are the query parameters of /stats and /stats/prometheus.
type Options struct {
	// Format is the output format (format=text|json|prometheus); Write uses it.
	Format Format
	// Filter keeps only the stats whose full name it matches (filter=, RE2).
	Filter *regexp.Regexp
	// UsedOnly keeps only stats that were ever written to (usedonly).
	UsedOnly bool
	// Type keeps only one kind of stat (type=Counters|Gauges|Histograms|TextReadouts|All).
	Type StatType
	// HistogramBuckets is the histogram output mode (histogram_buckets=).
	HistogramBuckets BucketMode
	// TextReadouts adds text readouts to Prometheus output as gauges (text_readouts).
	TextReadouts bool
	// Pretty indents JSON output (pretty).
	Pretty bool
}

// ParseOptions reads the query parameters of /stats or /stats/prometheus the way
// Envoy does: flags count when present, parameters with an empty value are ignored,
// and anything unknown or unsupported is an error for a 400 response.
func ParseOptions(q url.Values) (Options, error) {
	opt := Options{
		UsedOnly:     q.Has("usedonly"),
		TextReadouts: q.Has("text_readouts"),
		Pretty:       q.Has("pretty"),
	}
	if q.Has("filter") {
		re, err := regexp.Compile(q.Get("filter"))
		if err != nil {
			return Options{}, fmt.Errorf("invalid re2 regex in filter: %w", err)
		}
		opt.Filter = re
	}
	var err error
	if opt.Type, err = parseType(q.Get("type")); err != nil {
		return Options{}, err
	}
	if opt.HistogramBuckets, err = parseBuckets(q.Get("histogram_buckets")); err != nil {
		return Options{}, err
	}
	if opt.Format, err = parseFormat(q.Get("format")); err != nil {
		return Options{}, err
	}
	return opt, nil
}

func parseType(v string) (StatType, error) {
	switch v {
	case "", "All":
		return TypeAll, nil
	case "Counters":
		return TypeCounters, nil
	case "Gauges":
		return TypeGauges, nil
	case "Histograms":
		return TypeHistograms, nil
	case "TextReadouts":
		return TypeTextReadouts, nil
	}
	return 0, fmt.Errorf("invalid type %q: want Counters, Gauges, Histograms, TextReadouts or All", v)
}

func parseBuckets(v string) (BucketMode, error) {
	switch v {
	case "", "none":
		return BucketsNone, nil
	case "cumulative":
		return BucketsCumulative, nil
	case "disjoint":
		return BucketsDisjoint, nil
	case "summary":
		return BucketsSummary, nil
	case "detailed":
		return 0, errors.New("histogram_buckets=detailed is not supported")
	}
	return 0, fmt.Errorf("invalid histogram_buckets %q: want cumulative, disjoint, summary or none", v)
}

func parseFormat(v string) (Format, error) {
	switch v {
	case "", "text":
		return FormatText, nil
	case "json":
		return FormatJSON, nil
	case "prometheus":
		return FormatPrometheus, nil
	case "html", "active-html":
		return 0, fmt.Errorf("format=%s is not supported", v)
	}
	return 0, fmt.Errorf("invalid format %q: want text, json or prometheus", v)
}

// Write writes snap in opt.Format.
func Write(w io.Writer, snap Snapshot, opt Options) error {
	switch opt.Format {
	case FormatJSON:
		return WriteJSON(w, snap, opt)
	case FormatPrometheus:
		return WritePrometheus(w, snap, opt)
	default:
		return WriteText(w, snap, opt)
	}
}

// ContentType returns the Content-Type Envoy's admin sends with the format.
func (f Format) ContentType() string {
	if f == FormatJSON {
		return "application/json"
	}
	return "text/plain; charset=UTF-8"
}

// wants reports whether stats of kind k are written under opt.Type.
func (opt *Options) wants(k StatType) bool { return opt.Type == TypeAll || opt.Type == k }

// keep reports whether a stat called name, used or not, passes the filters.
func (opt *Options) keep(name string, used bool) bool {
	if opt.UsedOnly && !used {
		return false
	}
	return opt.Filter == nil || opt.Filter.MatchString(name)
}
