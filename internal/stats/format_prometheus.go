package stats

import (
	"bufio"
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// WritePrometheus writes snap in the Prometheus text exposition format, as Envoy's
// /stats/prometheus does. Metric names are "envoy_" plus the tag-extracted name with
// every character outside [a-zA-Z0-9_] replaced by '_'; the extracted tags become
// labels. Stats that share a metric name form one family under one "# TYPE" line;
// families are ordered by tag-extracted name and, within one, stats by full name.
// Counters come first, then gauges, text readouts (only with opt.TextReadouts, as
// gauges of value 0 with a text_value label) and histograms with Envoy's default
// bucket bounds, or summaries of the interval quantiles under BucketsSummary.
func WritePrometheus(w io.Writer, snap Snapshot, opt Options) error {
	if opt.HistogramBuckets == BucketsDisjoint {
		return errors.New("histogram_buckets=disjoint is not supported with prometheus output")
	}
	bw := bufio.NewWriter(w)
	if opt.wants(TypeCounters) {
		var es []promEntry
		for _, c := range snap.Counters {
			if opt.keep(c.name, c.Used()) {
				es = append(es, scalarEntry(&c.identity, strconv.FormatUint(c.Value(), 10)))
			}
		}
		writeFamilies(bw, "counter", es)
	}
	if opt.wants(TypeGauges) {
		var es []promEntry
		for _, g := range snap.Gauges {
			if opt.keep(g.name, g.Used()) {
				es = append(es, scalarEntry(&g.identity, strconv.FormatInt(g.Value(), 10)))
			}
		}
		writeFamilies(bw, "gauge", es)
	}
	if opt.TextReadouts && opt.wants(TypeTextReadouts) {
		writeFamilies(bw, "gauge", textEntries(snap.Texts, &opt))
	}
	if opt.wants(TypeHistograms) {
		typ := "histogram"
		if opt.HistogramBuckets == BucketsSummary {
			typ = "summary"
		}
		writeFamilies(bw, typ, histogramEntries(snap.Histograms, &opt))
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write prometheus stats: %w", err)
	}
	return nil
}

// promEntry is one stat ready to be written under its family's metric name.
type promEntry struct {
	id   *identity
	emit func(w *bufio.Writer, metric string)
}

func scalarEntry(id *identity, value string) promEntry {
	return promEntry{id: id, emit: func(w *bufio.Writer, metric string) {
		writeSample(w, metric, "", promLabels(id.tags), "", value)
	}}
}

// writeSample writes `metric+suffix{labels,extra} value`.
func writeSample(w *bufio.Writer, metric, suffix, labels, extra, value string) {
	w.WriteString(metric)
	w.WriteString(suffix)
	w.WriteByte('{')
	w.WriteString(labels)
	if labels != "" && extra != "" {
		w.WriteByte(',')
	}
	w.WriteString(extra)
	w.WriteString("} ")
	w.WriteString(value)
	w.WriteByte('\n')
}

// leLabels are the le labels of the default bounds, formatted as Envoy does.
var leLabels = func() (l [numBounds]string) {
	for i, b := range DefaultBuckets {
		l[i] = `le="` + formatPrecise(b) + `"`
	}
	return l
}()

func textEntries(ts []*TextReadout, opt *Options) []promEntry {
	var es []promEntry
	for _, t := range ts {
		if !opt.keep(t.name, t.Used()) {
			continue
		}
		labels := promLabels(append(slices.Clip(t.tags), Tag{Name: "text_value", Value: t.Value()}))
		es = append(es, promEntry{id: &t.identity, emit: func(w *bufio.Writer, metric string) {
			writeSample(w, metric, "", labels, "", "0")
		}})
	}
	return es
}

func histogramEntries(hs []*Histogram, opt *Options) []promEntry {
	var es []promEntry
	for _, h := range hs {
		if !opt.keep(h.name, h.Used()) {
			continue
		}
		emit := func(w *bufio.Writer, metric string) { writePromHistogram(w, metric, h) }
		if opt.HistogramBuckets == BucketsSummary {
			emit = func(w *bufio.Writer, metric string) { writePromSummary(w, metric, h) }
		}
		es = append(es, promEntry{id: &h.identity, emit: emit})
	}
	return es
}

// writeFamilies groups entries by tag-extracted name and writes each group under
// one TYPE line.
func writeFamilies(w *bufio.Writer, typ string, es []promEntry) {
	slices.SortStableFunc(es, func(a, b promEntry) int {
		return cmp.Or(cmp.Compare(a.id.tagExtractedName(), b.id.tagExtractedName()), cmp.Compare(a.id.name, b.id.name))
	})
	for i := 0; i < len(es); {
		tagName := es[i].id.tagExtractedName()
		metric := "envoy_" + promSanitize(tagName)
		fmt.Fprintf(w, "# TYPE %s %s\n", metric, typ)
		for ; i < len(es) && es[i].id.tagExtractedName() == tagName; i++ {
			es[i].emit(w, metric)
		}
	}
}

func writePromHistogram(w *bufio.Writer, metric string, h *Histogram) {
	s := h.Cumulative()
	labels := promLabels(h.tags)
	for i := range leLabels {
		writeSample(w, metric, "_bucket", labels, leLabels[i], strconv.FormatUint(s.Buckets[i], 10))
	}
	count := strconv.FormatUint(s.Count, 10)
	writeSample(w, metric, "_bucket", labels, `le="+Inf"`, count)
	writeSample(w, metric, "_sum", labels, "", formatPrecise(s.Sum))
	writeSample(w, metric, "_count", labels, "", count)
}

func writePromSummary(w *bufio.Writer, metric string, h *Histogram) {
	s := h.Interval()
	labels := promLabels(h.tags)
	for i, q := range SupportedQuantiles {
		writeSample(w, metric, "", labels, `quantile="`+formatShortest(q)+`"`, formatPrecise(s.Quantiles[i]))
	}
	writeSample(w, metric, "_sum", labels, "", formatPrecise(s.Sum))
	writeSample(w, metric, "_count", labels, "", strconv.FormatUint(s.Count, 10))
}

// promLabels formats tags as Prometheus labels: names sanitized, values escaped.
func promLabels(tags []Tag) string {
	var b strings.Builder
	for i, t := range tags {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(promSanitize(t.Name))
		b.WriteString(`="`)
		promEscape(&b, t.Value)
		b.WriteByte('"')
	}
	return b.String()
}

// promSanitize replaces every character outside [a-zA-Z0-9_] with '_'.
func promSanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, s)
}

// promEscape writes a label value with '\', '"' and newline escaped.
func promEscape(b *strings.Builder, v string) {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
}
