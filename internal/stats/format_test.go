package stats

import (
	"bytes"
	"encoding/json"
	"flag"
	"math"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// fixture returns a store with every kind of stat, used and unused, and a
// histogram whose interval differs from its cumulative state.
func fixture() *Store {
	s := NewStore()
	s.TextReadout("cluster_manager.cds.version_text").Set(`v1 "quoted" <x>`)
	s.TextReadout("server.unset_text")
	reviews := s.Scope("cluster.outbound|9080||reviews.default.svc.cluster.local.")
	reviews.Counter("upstream_rq_total").Add(7)
	s.Scope("cluster.outbound|9080||ratings.default.svc.cluster.local.").Counter("upstream_rq_total").Add(3)
	x := s.Scope("cluster.x.")
	x.Counter("upstream_rq_2xx").Add(3)
	x.Counter("upstream_rq_503").Inc()
	x.Counter("upstream_rq_5xx").Inc()
	x.Gauge("membership_healthy").Set(3)
	s.Counter(`cluster.we"ird\name.upstream_cx_total`).Inc()
	s.Counter("http.admin.downstream_rq_total")
	s.Counter("listener_manager.lds.update_success").Add(2)
	s.Gauge("server.uptime").Set(12)
	s.Gauge("listener.0.0.0.0_15006.downstream_cx_active").Set(2)
	h := x.Histogram("upstream_rq_time", Milliseconds)
	for _, v := range []uint64{50, 20, 30, 70, 100, 5000, 200} {
		h.Record(v)
	}
	s.Histogram("http.admin.downstream_rq_time", Milliseconds)
	s.Flush()
	h.Record(1)
	return s
}

func TestWriteGolden(t *testing.T) {
	tests := []struct {
		name, query string
	}{
		{"text", ""},
		{"text_usedonly", "usedonly"},
		{"text_filter", "filter=upstream_rq"},
		{"text_type_counters", "type=Counters"},
		{"text_type_histograms", "type=Histograms"},
		{"text_cumulative", "histogram_buckets=cumulative"},
		{"text_disjoint", "histogram_buckets=disjoint"},
		{"json", "format=json"},
		{"json_usedonly_gauges", "format=json&usedonly&type=Gauges"},
		{"json_cumulative", "format=json&histogram_buckets=cumulative&usedonly"},
		{"json_disjoint", "format=json&histogram_buckets=disjoint&filter=rq_time"},
		{"json_pretty", "format=json&pretty&filter=cluster.x"},
		{"prometheus", "format=prometheus"},
		{"prometheus_text_readouts", "format=prometheus&text_readouts&usedonly"},
		{"prometheus_summary", "format=prometheus&histogram_buckets=summary&type=Histograms"},
		{"prometheus_filter", "format=prometheus&filter=%5Ecluster%5C.x%5C."},
	}
	snap := fixture().Snapshot()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			opt, err := ParseOptions(q)
			if err != nil {
				t.Fatalf("ParseOptions(%q): %v", tt.query, err)
			}
			var buf bytes.Buffer
			if err := Write(&buf, snap, opt); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if opt.Format == FormatJSON && !json.Valid(buf.Bytes()) {
				t.Errorf("output is not valid JSON:\n%s", buf.Bytes())
			}
			golden(t, tt.name, buf.Bytes())
		})
	}
}

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden file (run with -update to create it): %v", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs from the golden file (-want +got):\n%s", path, diff)
	}
}

func TestWriteUnsupportedModes(t *testing.T) {
	snap := fixture().Snapshot()
	tests := []struct {
		opt  Options
		want string
	}{
		{Options{Format: FormatPrometheus, HistogramBuckets: BucketsDisjoint}, "not supported with prometheus"},
		{Options{Format: FormatText, HistogramBuckets: BucketsSummary}, "only supported with prometheus"},
		{Options{Format: FormatJSON, HistogramBuckets: BucketsSummary}, "only supported with prometheus"},
	}
	for _, tt := range tests {
		err := Write(&bytes.Buffer{}, snap, tt.opt)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Write(%+v) error = %v, want one containing %q", tt.opt, err, tt.want)
		}
	}
}

func TestEmptySnapshot(t *testing.T) {
	tests := []struct {
		format Format
		want   string
	}{
		{FormatText, ""},
		{FormatJSON, `{"stats":[]}`},
		{FormatPrometheus, ""},
	}
	for _, tt := range tests {
		var buf bytes.Buffer
		if err := Write(&buf, Snapshot{}, Options{Format: tt.format}); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tt.want, buf.String()); diff != "" {
			t.Errorf("format %d (-want +got):\n%s", tt.format, diff)
		}
	}
}

func TestFormatNumbers(t *testing.T) {
	tests := []struct {
		v                 float64
		shortest, precise string
	}{
		{0, "0", "0"},
		{1.05, "1.05", "1.0500000000000000444089209850063"},
		{100, "100", "100"},
		{3600000, "3600000", "3600000"},
		{1e15, "1000000000000000", "1000000000000000"},
		{1e16, "1e+16", "10000000000000000"},
		{0.0001, "0.0001", "0.00010000000000000000479217360238593"},
		{0.00001, "1e-05", "1.0000000000000000818030539140313e-05"},
		{math.NaN(), "nan", "nan"},
		{math.Inf(1), "inf", "inf"},
	}
	for _, tt := range tests {
		if got := formatShortest(tt.v); got != tt.shortest {
			t.Errorf("formatShortest(%v) = %q, want %q", tt.v, got, tt.shortest)
		}
		if got := formatPrecise(tt.v); got != tt.precise {
			t.Errorf("formatPrecise(%v) = %q, want %q", tt.v, got, tt.precise)
		}
	}
}

func TestEscaping(t *testing.T) {
	tests := []struct {
		in, prom, json string
	}{
		{"plain", `plain`, `"plain"`},
		{`a"b\c`, `a\"b\\c`, `"a\"b\\c"`},
		{"line\nbreak\ttab", `line\nbreak` + "\t" + `tab`, `"line\nbreak\ttab"`},
		{"<html>&", `<html>&`, `"\u003chtml\u003e&"`},
		{"\x01\xff", "\x01\xff", `"\u0001` + "\ufffd" + `"`},
	}
	for _, tt := range tests {
		if got := promLabels([]Tag{{"a.b-c", tt.in}}); got != `a_b_c="`+tt.prom+`"` {
			t.Errorf("promLabels(%q) = %s", tt.in, got)
		}
		var b bytes.Buffer
		(&jsonWriter{b: &b}).str(tt.in)
		if b.String() != tt.json {
			t.Errorf("json string of %q = %s, want %s", tt.in, b.String(), tt.json)
		}
	}
}
