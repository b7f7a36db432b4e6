package stats

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseOptions(t *testing.T) {
	tests := []struct {
		query string
		want  Options
	}{
		{"", Options{}},
		{"usedonly", Options{UsedOnly: true}},
		{"usedonly=&text_readouts&pretty", Options{UsedOnly: true, TextReadouts: true, Pretty: true}},
		{"filter=^cluster%5C.", Options{Filter: regexp.MustCompile(`^cluster\.`)}},
		{"filter=", Options{Filter: regexp.MustCompile(``)}},
		{"type=Counters", Options{Type: TypeCounters}},
		{"type=Gauges", Options{Type: TypeGauges}},
		{"type=Histograms", Options{Type: TypeHistograms}},
		{"type=TextReadouts", Options{Type: TypeTextReadouts}},
		{"type=All", Options{}},
		{"histogram_buckets=cumulative", Options{HistogramBuckets: BucketsCumulative}},
		{"histogram_buckets=disjoint", Options{HistogramBuckets: BucketsDisjoint}},
		{"histogram_buckets=summary", Options{HistogramBuckets: BucketsSummary}},
		{"histogram_buckets=none", Options{}},
		{"histogram_buckets=", Options{}},
		{"format=json", Options{Format: FormatJSON}},
		{"format=prometheus", Options{Format: FormatPrometheus}},
		{"format=text", Options{}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			q, err := url.ParseQuery(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ParseOptions(q)
			if err != nil {
				t.Fatalf("ParseOptions(%q) error: %v", tt.query, err)
			}
			if diff := cmp.Diff(tt.want, got, cmp.Comparer(sameRegexp)); diff != "" {
				t.Errorf("ParseOptions(%q) (-want +got):\n%s", tt.query, diff)
			}
		})
	}
}

func sameRegexp(a, b *regexp.Regexp) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.String() == b.String()
}

func TestParseOptionsErrors(t *testing.T) {
	tests := []struct {
		query string
		want  string
	}{
		{"filter=(", "invalid re2 regex in filter"},
		{"filter=a(?=b)", "invalid re2 regex in filter"},
		{"type=counters", `invalid type "counters"`},
		{"histogram_buckets=detailed", "histogram_buckets=detailed is not supported"},
		{"histogram_buckets=linear", `invalid histogram_buckets "linear"`},
		{"format=html", "format=html is not supported"},
		{"format=xml", `invalid format "xml"`},
	}
	for _, tt := range tests {
		q, _ := url.ParseQuery(tt.query)
		_, err := ParseOptions(q)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseOptions(%q) error = %v, want one containing %q", tt.query, err, tt.want)
		}
	}
}
