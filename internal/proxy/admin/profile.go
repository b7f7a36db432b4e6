package admin

import (
	"fmt"
	"net/http"
	"os"
	"runtime/pprof"
)

// Profiling maps Envoy's gperftools profilers onto runtime/pprof:
//
//   - /cpuprofiler?enable=y starts a CPU profile written to the profile path
//     (the bootstrap's admin.profile_path, else DefaultProfilePath); enable=n stops
//     it. Go allows one CPU profile per process, so a profile started elsewhere makes
//     enable=y fail with a 500.
//   - /heapprofiler?enable=y marks the heap profiler started (Go samples heap
//     allocations all the time, at runtime.MemProfileRate); enable=n writes the heap
//     profile to the profile path plus ".heap".
//   - /heap_dump answers with the current heap profile in pprof format.

// enableParam reads the single ?enable=y|n parameter Envoy's profilers take.
func enableParam(w http.ResponseWriter, r *http.Request) (on, ok bool) {
	v, has := r.Form["enable"]
	if len(r.Form) != 1 || !has || (v[0] != "y" && v[0] != "n") {
		writeText(w, http.StatusBadRequest, "?enable=<y|n>\n")
		return false, false
	}
	return v[0] == "y", true
}

func (s *Server) handleCPUProfiler(w http.ResponseWriter, r *http.Request) {
	on, ok := enableParam(w, r)
	if !ok {
		return
	}
	s.profMu.Lock()
	defer s.profMu.Unlock()
	switch {
	case on && s.cpuProfile == nil:
		f, err := os.Create(s.profilePath)
		if err != nil {
			s.log.Error("admin: cpu profile", "error", err)
			writeText(w, http.StatusInternalServerError, "failure to start the profiler")
			return
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			f.Close()
			s.log.Error("admin: cpu profile", "error", err)
			writeText(w, http.StatusInternalServerError, "failure to start the profiler")
			return
		}
		s.cpuProfile = f
	case !on && s.cpuProfile != nil:
		s.stopCPULocked()
	}
	fmt.Fprint(w, "OK\n")
}

func (s *Server) stopCPULocked() {
	pprof.StopCPUProfile()
	if err := s.cpuProfile.Close(); err != nil {
		s.log.Error("admin: cpu profile", "error", err)
	}
	s.cpuProfile = nil
}

// stopProfiling stops a CPU profile left running, so that its file is complete.
func (s *Server) stopProfiling() {
	s.profMu.Lock()
	defer s.profMu.Unlock()
	if s.cpuProfile != nil {
		s.stopCPULocked()
	}
}

func (s *Server) handleHeapProfiler(w http.ResponseWriter, r *http.Request) {
	on, ok := enableParam(w, r)
	if !ok {
		return
	}
	s.profMu.Lock()
	defer s.profMu.Unlock()
	switch {
	case on && s.heapStarted:
		writeText(w, http.StatusBadRequest, "Fail to start heap profiler: already started")
	case on:
		s.heapStarted = true
		fmt.Fprint(w, "Starting heap profiler")
	case !s.heapStarted:
		writeText(w, http.StatusBadRequest, "Fail to stop heap profiler: not started")
	default:
		path := s.profilePath + ".heap"
		if err := writeHeapProfile(path); err != nil {
			s.log.Error("admin: heap profile", "error", err)
			writeText(w, http.StatusInternalServerError, "Fail to write the heap profile: "+err.Error())
			return
		}
		s.heapStarted = false
		fmt.Fprintf(w, "Heap profiler stopped and data written to %s. See https://pkg.go.dev/runtime/pprof for details.", path)
	}
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		f.Close()
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	return nil
}

// handleHeapDump serves /heap_dump: the heap profile in pprof's format.
func (s *Server) handleHeapDump(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/octet-stream")
	if err := pprof.Lookup("heap").WriteTo(w, 0); err != nil {
		s.log.Error("admin: heap dump", "error", err)
	}
}
