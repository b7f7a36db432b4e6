package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// clockTicks is USER_HZ, 100 on every Linux the harness runs on.
const clockTicks = 100

// usage is the CPU time and resident memory of a process and its descendants
// (nginx and haproxy fork workers), read from /proc.
type usage struct {
	cpu  time.Duration
	rss  int64 // bytes
	anon int64 // bytes of rss that are anonymous memory, not the binary's pages
	file int64 // bytes of rss that are file pages: the binary and what it maps
}

// treeUsage sums usage over pid and every process below it.
func treeUsage(pid int) (usage, error) {
	var u usage
	for _, p := range processTree(pid) {
		cpu, err := procCPU(p)
		if err != nil {
			if p == pid {
				return u, err
			}
			continue // a worker that just exited
		}
		m, _ := procMem(p)
		u.cpu += cpu
		u.rss += m.rss
		u.anon += m.anon
	}
	return u, nil
}

// procCPU is utime+stime of one process, threads included.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The command name is in parentheses and may contain spaces: split after it.
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: short", pid)
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// procMem reads VmRSS, RssAnon and RssFile of one process, in bytes. The rest of
// VmRSS is shared memory.
func procMem(pid int) (usage, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return usage{}, err
	}
	var u usage
	found := false
	for _, l := range strings.Split(string(b), "\n") {
		k, v, ok := strings.Cut(l, ":")
		if !ok || (k != "VmRSS" && k != "RssAnon" && k != "RssFile") {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		if err != nil {
			return u, fmt.Errorf("/proc/%d/status %s: %w", pid, k, err)
		}
		switch k {
		case "VmRSS":
			u.rss, found = kb<<10, true
		case "RssAnon":
			u.anon = kb << 10
		default:
			u.file = kb << 10
		}
	}
	if !found {
		return u, fmt.Errorf("/proc/%d/status: no VmRSS", pid)
	}
	return u, nil
}

// processTree lists pid and its descendants by their parent pids.
func processTree(pid int) []int {
	parent := map[int][]int{}
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		parent[pp] = append(parent[pp], p)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, parent[out[i]]...)
	}
	return out
}

// sampler records the peak resident memory of a process tree while a load runs.
type sampler struct {
	pid  int
	stop chan struct{}
	done chan struct{}
	peak usage // the peaks of rss and anon, each on its own
}

func startSampler(pid int) *sampler {
	s := &sampler{pid: pid, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		for {
			if u, err := treeUsage(s.pid); err == nil {
				s.peak.rss = max(s.peak.rss, u.rss)
				s.peak.anon = max(s.peak.anon, u.anon)
			}
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// finish stops sampling and returns the peaks.
func (s *sampler) finish() usage {
	close(s.stop)
	<-s.done
	return s.peak
}
