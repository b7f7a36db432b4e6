package stats

import (
	"bufio"
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
)

// quantileLabels are the quantile names of the text format, P{100*q}.
var quantileLabels = [numQuantiles]string{"P0", "P25", "P50", "P75", "P90", "P95", "P99", "P99.5", "P99.9", "P100"}

// boundLabels are the default bounds as Envoy's text format prints them ({:g}).
var boundLabels = func() (l [numBounds]string) {
	for i, b := range DefaultBuckets {
		l[i] = strconv.FormatFloat(b, 'g', 6, 64)
	}
	return l
}()

// WriteText writes snap as Envoy's /stats prints it: text readouts as
// `name: "value"`, then counters and gauges merged in name order as `name: value`,
// then histograms as `name: P0(interval,cumulative) ... P100(...)`, or
// `name: No recorded values` for a histogram that never had a sample.
func WriteText(w io.Writer, snap Snapshot, opt Options) error {
	if opt.HistogramBuckets == BucketsSummary {
		return fmt.Errorf("histogram_buckets=summary is only supported with prometheus output")
	}
	bw := bufio.NewWriter(w)
	if opt.wants(TypeTextReadouts) {
		for _, t := range snap.Texts {
			if opt.keep(t.name, t.Used()) {
				fmt.Fprintf(bw, "%s: \"%s\"\n", t.name, t.Value())
			}
		}
	}
	for _, s := range scalars(snap, &opt) {
		bw.WriteString(s.name)
		bw.WriteString(": ")
		bw.WriteString(s.value)
		bw.WriteByte('\n')
	}
	if opt.wants(TypeHistograms) {
		for _, h := range snap.Histograms {
			if opt.keep(h.name, h.Used()) {
				writeTextHistogram(bw, h, opt.HistogramBuckets)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write text stats: %w", err)
	}
	return nil
}

// scalar is a counter or gauge ready to print.
type scalar struct {
	name, value string
}

// scalars returns the counters and gauges that opt keeps, merged in name order.
func scalars(snap Snapshot, opt *Options) []scalar {
	var out []scalar
	if opt.wants(TypeCounters) {
		for _, c := range snap.Counters {
			if opt.keep(c.name, c.Used()) {
				out = append(out, scalar{c.name, strconv.FormatUint(c.Value(), 10)})
			}
		}
	}
	if opt.wants(TypeGauges) {
		for _, g := range snap.Gauges {
			if opt.keep(g.name, g.Used()) {
				out = append(out, scalar{g.name, strconv.FormatInt(g.Value(), 10)})
			}
		}
	}
	slices.SortStableFunc(out, func(a, b scalar) int { return cmp.Compare(a.name, b.name) })
	return out
}

func writeTextHistogram(w *bufio.Writer, h *Histogram, mode BucketMode) {
	w.WriteString(h.name)
	if !h.Used() {
		w.WriteString(": No recorded values\n")
		return
	}
	iv, cu := h.Interval(), h.Cumulative()
	w.WriteString(": ")
	switch mode {
	case BucketsCumulative:
		writeTextBuckets(w, iv.Buckets, cu.Buckets)
	case BucketsDisjoint:
		writeTextBuckets(w, iv.DisjointBuckets(), cu.DisjointBuckets())
	default:
		for i := range quantileLabels {
			if i > 0 {
				w.WriteByte(' ')
			}
			fmt.Fprintf(w, "%s(%s,%s)", quantileLabels[i], formatShortest(iv.Quantiles[i]), formatShortest(cu.Quantiles[i]))
		}
	}
	w.WriteByte('\n')
}

func writeTextBuckets(w *bufio.Writer, iv, cu [numBounds]uint64) {
	for i := range boundLabels {
		if i > 0 {
			w.WriteByte(' ')
		}
		fmt.Fprintf(w, "B%s(%d,%d)", boundLabels[i], iv[i], cu[i])
	}
}

// formatShortest formats v the way Envoy's fmt "{}" and JSON serializer do: the
// shortest representation that reads back as v, in plain notation for decimal
// exponents from -4 to 15 and in exponent notation outside, and "nan" / "inf".
func formatShortest(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	e := strconv.FormatFloat(v, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.LastIndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// formatPrecise formats v the way Envoy's Prometheus output does ({:.32g}).
func formatPrecise(v float64) string {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return strconv.FormatFloat(v, 'g', 32, 64)
}
