package admin

import (
	"bytes"
	"fmt"
	"net/http"
	goruntime "runtime"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"

	"github.com/weftmesh/weft/internal/stats"
)

// handleStats serves /stats in text, JSON or Prometheus form (?format=), with
// Envoy's filter, usedonly, type and histogram_buckets parameters. A bad parameter is
// a 400 naming it.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	opt, err := stats.ParseOptions(r.Form)
	if err != nil {
		writeText(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	s.writeStats(w, opt)
}

// handlePrometheus serves /stats/prometheus.
func (s *Server) handlePrometheus(w http.ResponseWriter, r *http.Request) {
	opt, err := stats.ParseOptions(r.Form)
	if err != nil {
		writeText(w, http.StatusBadRequest, err.Error()+"\n")
		return
	}
	opt.Format = stats.FormatPrometheus
	s.writeStats(w, opt)
}

func (s *Server) writeStats(w http.ResponseWriter, opt stats.Options) {
	var snap stats.Snapshot
	if s.d.Stats != nil {
		snap = s.d.Stats.Snapshot()
	}
	var b bytes.Buffer
	if err := stats.Write(&b, snap, opt); err != nil {
		writeText(w, http.StatusInternalServerError, err.Error()+"\n")
		return
	}
	w.Header().Set("Content-Type", opt.Format.ContentType())
	w.Write(b.Bytes())
}

// handleResetCounters serves /reset_counters: every counter goes back to zero.
func (s *Server) handleResetCounters(w http.ResponseWriter, _ *http.Request) {
	if s.d.Stats != nil {
		s.d.Stats.ResetCounters()
	}
	fmt.Fprint(w, "OK\n")
}

// handleRecentLookups serves /stats/recentlookups in Envoy's format. Envoy lists the
// stat names looked up by name on its symbol table; weft's stats are resolved once at
// config time and the store keeps no lookup history, so the table is always empty:
// while tracking is disabled (the default) the page says so, as Envoy's does.
func (s *Server) handleRecentLookups(w http.ResponseWriter, _ *http.Request) {
	if !s.lookups.Load() {
		fmt.Fprint(w, "Lookup tracking is not enabled. Use /stats/recentlookups/enable to enable.\n\ntotal: 0\n")
		return
	}
	fmt.Fprint(w, "   Count Lookup\n\ntotal: 0\n")
}

func (s *Server) handleLookupsClear(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprint(w, "OK\n")
}

func (s *Server) handleLookupsEnable(on bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		s.lookups.Store(on)
		fmt.Fprint(w, "OK\n")
	}
}

// handleContention serves /contention. Envoy's mutex tracing maps onto Go's mutex
// profile: it is enabled when the process set a mutex profile fraction with
// runtime.SetMutexProfileFraction (the CLI's --enable-mutex-tracing is meant to);
// num_contentions is the number of contention events sampled and
// lifetime_wait_cycles the cycles spent waiting in them. Go keeps no
// "current" figure, so current_wait_cycles is 0.
func (s *Server) handleContention(w http.ResponseWriter, _ *http.Request) {
	if goruntime.SetMutexProfileFraction(-1) <= 0 {
		fmt.Fprint(w, "Mutex contention tracing is not enabled. To enable, run weft with flag --enable-mutex-tracing.")
		return
	}
	var count, cycles int64
	for _, rec := range mutexProfile() {
		count += rec.Count
		cycles += rec.Cycles
	}
	s.writeJSON(w, &adminv3.MutexStats{NumContentions: uint64(count), LifetimeWaitCycles: uint64(cycles)}, allPrimitives)
}

func mutexProfile() []goruntime.BlockProfileRecord {
	n, _ := goruntime.MutexProfile(nil)
	for {
		recs := make([]goruntime.BlockProfileRecord, n+16)
		got, ok := goruntime.MutexProfile(recs)
		if ok {
			return recs[:got]
		}
		n = got
	}
}
