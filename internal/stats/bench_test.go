package stats

import (
	"fmt"
	"io"
	"testing"
)

func BenchmarkCounterInc(b *testing.B) {
	c := NewStore().Counter("cluster.x.upstream_rq_total")
	b.ReportAllocs()
	for b.Loop() {
		c.Inc()
	}
}

func BenchmarkCounterIncParallel(b *testing.B) {
	c := NewStore().Counter("cluster.x.upstream_rq_total")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			c.Inc()
		}
	})
}

func BenchmarkHistogramRecord(b *testing.B) {
	h := NewStore().Histogram("cluster.x.upstream_rq_time", Milliseconds)
	v := uint64(0)
	b.ReportAllocs()
	for b.Loop() {
		v = (v + 7919) % 100000 // spread over many buckets
		h.Record(v)
	}
}

func BenchmarkHistogramRecordParallel(b *testing.B) {
	h := NewStore().Histogram("cluster.x.upstream_rq_time", Milliseconds)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		v := uint64(0)
		for pb.Next() {
			v = (v + 7919) % 100000
			h.Record(v)
		}
	})
}

func BenchmarkHistogramFlush(b *testing.B) {
	h := NewStore().Histogram("cluster.x.upstream_rq_time", Milliseconds)
	b.ReportAllocs()
	for b.Loop() {
		h.Record(42)
		h.Flush()
	}
}

func BenchmarkTagExtract(b *testing.B) {
	t := DefaultTagger()
	b.ReportAllocs()
	for b.Loop() {
		t.Extract("cluster.outbound|9080||reviews.default.svc.cluster.local.upstream_rq_2xx")
	}
}

// BenchmarkWritePrometheus scrapes a store the size of a sidecar that knows 100
// clusters.
func BenchmarkWritePrometheus(b *testing.B) {
	s := NewStore()
	for i := range 100 {
		sc := s.Scope(fmt.Sprintf("cluster.outbound|80||svc%d.default.svc.cluster.local.", i))
		for _, n := range []string{"upstream_rq_total", "upstream_rq_2xx", "upstream_rq_5xx", "upstream_cx_total"} {
			sc.Counter(n).Inc()
		}
		sc.Gauge("upstream_rq_active").Set(1)
		sc.Histogram("upstream_rq_time", Milliseconds).Record(uint64(i))
	}
	snap := s.Snapshot()
	b.ReportAllocs()
	for b.Loop() {
		if err := WritePrometheus(io.Discard, snap, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
