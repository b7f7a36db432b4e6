package stats

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strconv"
	"unicode/utf8"
)

// supportedQuantilesJSON is SupportedQuantiles in percent, as Envoy lists them.
const supportedQuantilesJSON = "[0,25,50,75,90,95,99,99.5,99.9,100]"

// WriteJSON writes snap as Envoy's /stats?format=json does:
//
//	{"stats":[{"name":"t","value":"text"},{"name":"c","value":1},...,
//	  {"histograms":{"supported_quantiles":[0,25,...,100],
//	    "computed_quantiles":[{"name":"h","values":[{"cumulative":1,"interval":null},...]}]}}]}
//
// Text readouts come first, then counters and gauges merged in name order, then one
// element holding every histogram. Quantiles without samples are null. With
// histogram_buckets=cumulative or disjoint the last element is
// {"histograms":[{"name":"h","buckets":[{"upper_bound":0.5,"interval":0,"cumulative":0},...]}]}.
func WriteJSON(w io.Writer, snap Snapshot, opt Options) error {
	if opt.HistogramBuckets == BucketsSummary {
		return fmt.Errorf("histogram_buckets=summary is only supported with prometheus output")
	}
	var buf bytes.Buffer
	jw := &jsonWriter{b: &buf}
	buf.WriteString(`{"stats":[`)
	if opt.wants(TypeTextReadouts) {
		for _, t := range snap.Texts {
			if opt.keep(t.name, t.Used()) {
				jw.entry()
				buf.WriteString(`{"name":`)
				jw.str(t.name)
				buf.WriteString(`,"value":`)
				jw.str(t.Value())
				buf.WriteByte('}')
			}
		}
	}
	for _, s := range scalars(snap, &opt) {
		jw.entry()
		buf.WriteString(`{"name":`)
		jw.str(s.name)
		buf.WriteString(`,"value":`)
		buf.WriteString(s.value)
		buf.WriteByte('}')
	}
	if opt.wants(TypeHistograms) {
		jw.histograms(snap.Histograms, &opt)
	}
	buf.WriteString("]}")
	return writeJSONOut(w, buf.Bytes(), opt.Pretty)
}

func writeJSONOut(w io.Writer, out []byte, pretty bool) error {
	if pretty {
		var ind bytes.Buffer
		if err := json.Indent(&ind, out, "", "  "); err != nil {
			return fmt.Errorf("indent json stats: %w", err)
		}
		ind.WriteByte('\n')
		out = ind.Bytes()
	}
	bw := bufio.NewWriter(w)
	bw.Write(out)
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write json stats: %w", err)
	}
	return nil
}

// jsonWriter builds the JSON document in a buffer.
type jsonWriter struct {
	b       *bytes.Buffer
	entries int // elements written to the current array
}

// entry starts an array element, writing the comma that separates it from the
// previous one.
func (j *jsonWriter) entry() {
	if j.entries > 0 {
		j.b.WriteByte(',')
	}
	j.entries++
}

// histograms writes the element that holds every histogram, if any is kept.
func (j *jsonWriter) histograms(hs []*Histogram, opt *Options) {
	started := false
	inner := 0
	for _, h := range hs {
		if !opt.keep(h.name, h.Used()) {
			continue
		}
		if !started {
			j.entry()
			if opt.HistogramBuckets == BucketsNone {
				j.b.WriteString(`{"histograms":{"supported_quantiles":` + supportedQuantilesJSON + `,"computed_quantiles":[`)
			} else {
				j.b.WriteString(`{"histograms":[`)
			}
			started = true
		}
		if inner > 0 {
			j.b.WriteByte(',')
		}
		inner++
		j.histogram(h, opt.HistogramBuckets)
	}
	switch {
	case !started:
	case opt.HistogramBuckets == BucketsNone:
		j.b.WriteString("]}}")
	default:
		j.b.WriteString("]}")
	}
}

func (j *jsonWriter) histogram(h *Histogram, mode BucketMode) {
	iv, cu := h.Interval(), h.Cumulative()
	j.b.WriteString(`{"name":`)
	j.str(h.name)
	if mode == BucketsNone {
		j.b.WriteString(`,"values":[`)
		for i := range cu.Quantiles {
			if i > 0 {
				j.b.WriteByte(',')
			}
			j.b.WriteString(`{"cumulative":`)
			j.num(cu.Quantiles[i])
			j.b.WriteString(`,"interval":`)
			j.num(iv.Quantiles[i])
			j.b.WriteByte('}')
		}
		j.b.WriteString("]}")
		return
	}
	ib, cb := iv.Buckets, cu.Buckets
	if mode == BucketsDisjoint {
		ib, cb = iv.DisjointBuckets(), cu.DisjointBuckets()
	}
	j.b.WriteString(`,"buckets":[`)
	for i, bound := range DefaultBuckets {
		if i > 0 {
			j.b.WriteByte(',')
		}
		j.b.WriteString(`{"upper_bound":`)
		j.num(bound)
		fmt.Fprintf(j.b, `,"interval":%d,"cumulative":%d}`, ib[i], cb[i])
	}
	j.b.WriteString("]}")
}

// num writes a number as Envoy's JSON streamer does; NaN becomes null.
func (j *jsonWriter) num(v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		j.b.WriteString("null")
		return
	}
	j.b.WriteString(formatShortest(v))
}

// str writes a quoted JSON string. Like Envoy's sanitizer it escapes '<' and '>'
// as well as quotes, backslashes and control characters; invalid UTF-8 becomes
// U+FFFD.
func (j *jsonWriter) str(s string) {
	b := j.b
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		i += size
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20 || r == '<' || r == '>':
			b.WriteString(`\u00`)
			b.WriteString(strconv.FormatInt(int64(r)>>4, 16))
			b.WriteString(strconv.FormatInt(int64(r)&0xf, 16))
		default:
			b.WriteRune(r) // utf8.RuneError for invalid bytes
		}
	}
	b.WriteByte('"')
}
