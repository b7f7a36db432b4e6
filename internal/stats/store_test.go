package stats

import (
	"fmt"
	"io"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestStoreLookupAndScope(t *testing.T) {
	s := NewStore()
	sc := s.Scope("cluster.").Scope("x.")
	if sc.Prefix() != "cluster.x." || sc.Store() != s {
		t.Fatalf("nested scope = %q over %p, want %q over %p", sc.Prefix(), sc.Store(), "cluster.x.", s)
	}
	if sc.Counter("c") != s.Counter("cluster.x.c") || sc.Gauge("g") != s.Gauge("cluster.x.g") ||
		sc.Histogram("h", Milliseconds) != s.Histogram("cluster.x.h", Bytes) ||
		sc.TextReadout("t") != s.TextReadout("cluster.x.t") {
		t.Error("a scope and its store return different stats for one name")
	}
	if u := s.Histogram("cluster.x.h", Bytes).Unit(); u != Milliseconds {
		t.Errorf("Unit() = %d, want the unit of the first lookup, %d", u, Milliseconds)
	}
}

func TestStoreResetAndDelete(t *testing.T) {
	s := NewStore()
	s.Counter("cluster.a.rq").Add(5)
	s.Counter("cluster.b.rq").Add(6)
	s.Gauge("cluster.a.active").Set(1)
	s.Histogram("cluster.a.time", Milliseconds).Record(1)
	s.TextReadout("cluster.a.version").Set("v")
	s.ResetCounters()
	if v, used := s.Counter("cluster.b.rq").Value(), s.Counter("cluster.b.rq").Used(); v != 0 || !used {
		t.Errorf("after ResetCounters: value %d used %v, want 0 true", v, used)
	}
	s.DeletePrefix("cluster.a.")
	snap := s.Snapshot()
	var names []string
	for _, c := range snap.Counters {
		names = append(names, c.Name())
	}
	if diff := cmp.Diff([]string{"cluster.b.rq"}, names); diff != "" {
		t.Errorf("counters after DeletePrefix (-want +got):\n%s", diff)
	}
	if len(snap.Gauges)+len(snap.Histograms)+len(snap.Texts) != 0 {
		t.Errorf("DeletePrefix left %d gauges, %d histograms, %d readouts", len(snap.Gauges), len(snap.Histograms), len(snap.Texts))
	}
}

// TestConcurrentUse runs writers, flushes and every output format at once; run it
// with -race.
func TestConcurrentUse(t *testing.T) {
	const workers, perWorker = 8, 2000
	s := NewStore()
	done := make(chan struct{})
	var readers sync.WaitGroup
	readers.Add(1)
	go func() {
		defer readers.Done()
		flushAndWriteUntil(t, s, done)
	}()
	var writers sync.WaitGroup
	for w := range workers {
		writers.Add(1)
		go func() {
			defer writers.Done()
			sc := s.Scope(fmt.Sprintf("cluster.c%d.", w%3))
			for i := range perWorker {
				sc.Counter("upstream_rq_total").Inc()
				sc.Gauge("upstream_rq_active").Add(1)
				sc.Histogram("upstream_rq_time", Milliseconds).Record(uint64(i))
				sc.TextReadout("version").Set(fmt.Sprint(i))
				s.Counter("server.total").Add(2)
			}
		}()
	}
	writers.Wait()
	close(done)
	readers.Wait()

	s.Flush()
	if got, want := s.Counter("server.total").Value(), uint64(2*workers*perWorker); got != want {
		t.Errorf("server.total = %d, want %d", got, want)
	}
	var count uint64
	for _, h := range s.Snapshot().Histograms {
		c := h.Cumulative()
		count += c.Count
		if c.Quantiles[0] != 0 || c.Quantiles[numQuantiles-1] != perWorker-1 {
			t.Errorf("%s: P0 %g P100 %g, want 0 and %d", h.Name(), c.Quantiles[0], c.Quantiles[numQuantiles-1], perWorker-1)
		}
	}
	if count != workers*perWorker {
		t.Errorf("histogram samples = %d, want %d", count, workers*perWorker)
	}
}

// flushAndWriteUntil flushes the store and writes it in every format until done is
// closed.
func flushAndWriteUntil(t *testing.T, s *Store, done <-chan struct{}) {
	for {
		select {
		case <-done:
			return
		default:
		}
		s.Flush()
		snap := s.Snapshot()
		for _, f := range []Format{FormatText, FormatJSON, FormatPrometheus} {
			if err := Write(io.Discard, snap, Options{Format: f, TextReadouts: true}); err != nil {
				t.Error(err)
				return
			}
		}
	}
}
