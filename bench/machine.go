package main

import (
	"fmt"
	"os"
	"runtime"
	"strings"
)

// machine describes where a result was measured. These machines are shared, so the
// load average at the start and the end of a scenario travels with every result.
type machine struct {
	Cores     int    `json:"cores"`
	Model     string `json:"model"`
	MemoryGiB string `json:"memory_gib"`
	Kernel    string `json:"kernel"`
	Go        string `json:"go"`
	Load      string `json:"load_start"`
	LoadEnd   string `json:"load_end,omitempty"`
}

func readMachine() machine {
	m := machine{Cores: runtime.NumCPU(), Model: "unknown", Go: runtime.Version(), Load: loadAvg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.Model = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		for _, l := range strings.Split(string(b), "\n") {
			if _, err := fmt.Sscanf(l, "MemTotal: %d kB", &kb); err == nil {
				m.MemoryGiB = fmt.Sprintf("%.1f", float64(kb)/(1<<20))
				break
			}
		}
	}
	return m
}

// loadAvg is the 1, 5 and 15 minute load averages.
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

func (m machine) String() string {
	s := fmt.Sprintf("%d cores, %s, %s GiB, Linux %s, %s, load %s", m.Cores, m.Model, m.MemoryGiB, m.Kernel, m.Go, m.Load)
	if m.LoadEnd != "" {
		s += " (at the end: " + m.LoadEnd + ")"
	}
	return s
}
