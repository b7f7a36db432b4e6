package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// runProfile profiles one weft hop at full load: a CPU profile from the admin
// /cpuprofiler and the allocations made during the load (the difference of two
// /heap_dump profiles), to say where the time and memory go.
func runProfile(ctx context.Context, e *env) (*report, error) {
	up, err := e.startUpstream(ctx, loadCPU, 1, false)
	if err != nil {
		return nil, err
	}
	p, err := e.startPath(ctx, pathWeft, pathOpts{to: up.h1, workers: 1, cpus: proxyCPU})
	if err != nil {
		return nil, err
	}
	if err := e.warm(ctx, []path{p}); err != nil {
		return nil, err
	}
	w := p.procs[0]
	before := filepath.Join(e.work, "before.heap")
	if err := adminGet(w.admin, "/heap_dump", before); err != nil {
		return nil, err
	}
	if err := adminPost(w.admin, "/cpuprofiler?enable=y"); err != nil {
		return nil, err
	}
	dur := e.dur(20*time.Second, 3*time.Second)
	fmt.Printf("   weft, 64 connections, max qps, %s, profiling\n", dur)
	r, err := e.fortio(ctx, load{url: p.url(), conns: 64, dur: dur, cpus: loadCPU})
	if err != nil {
		return nil, err
	}
	if err := adminPost(w.admin, "/cpuprofiler?enable=n"); err != nil {
		return nil, err
	}
	after := filepath.Join(e.work, "after.heap")
	if err := adminGet(w.admin, "/heap_dump", after); err != nil {
		return nil, err
	}
	rep, err := e.profileReport(ctx, r, w.profile, before, after, dur)
	if err != nil {
		return nil, err
	}
	return rep, e.profileConfig(ctx, rep)
}

// profileConfig adds where the memory of a large static config goes: the in-use
// heap of weft holding 1000 clusters × 10 endpoints (100 × 10 with --quick).
func (e *env) profileConfig(ctx context.Context, rep *report) error {
	pt := cfgPoint{Clusters: 1000, Endpoints: 10}
	if e.quick {
		pt.Clusters = 100
	}
	p, _, err := e.startSized(ctx, "profile-config", pt, false)
	if err != nil {
		return err
	}
	defer p.stop()
	// Settle, so that the profile's last collection came after the config was built.
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(e.dur(10*time.Second, time.Second)):
	}
	heap := filepath.Join(e.work, "config.heap")
	if err := adminGet(p.admin, "/heap_dump", heap); err != nil {
		return err
	}
	inuse, err := e.pprof(ctx, "-top", "-nodecount=25", "-sample_index=inuse_space", heap)
	if err != nil {
		return err
	}
	cum, err := e.pprof(ctx, "-top", "-cum", "-nodecount=25", "-sample_index=inuse_space", heap)
	if err != nil {
		return err
	}
	h := fmt.Sprintf("In-use heap holding %d static clusters × %d endpoints", pt.Clusters, pt.Endpoints)
	rep.Sections = append(rep.Sections,
		section{Heading: h + ", by allocation site (flat)", Text: fence(inuse)},
		section{Heading: h + ", cumulative", Text: fence(cum)})
	rep.Method = append(rep.Method, fmt.Sprintf("Config memory: weft on a bootstrap of %d clusters × %d endpoints (as in `configsize`), idle for a while, then `/heap_dump` and `go tool pprof -sample_index=inuse_space -top`; in-use figures are as of the last garbage collection.", pt.Clusters, pt.Endpoints))
	return nil
}

func (e *env) profileReport(ctx context.Context, r result, cpu, before, after string, dur time.Duration) (*report, error) {
	flat, err := e.pprof(ctx, "-top", "-nodecount=25", cpu)
	if err != nil {
		return nil, err
	}
	cum, err := e.pprof(ctx, "-top", "-cum", "-nodecount=45", cpu)
	if err != nil {
		return nil, err
	}
	objs, err := e.pprof(ctx, "-top", "-nodecount=20", "-sample_index=alloc_objects", after)
	if err != nil {
		return nil, err
	}
	space, err := e.pprof(ctx, "-top", "-nodecount=20", "-sample_index=alloc_space", after)
	if err != nil {
		return nil, err
	}
	objs0, err := e.pprof(ctx, "-top", "-nodecount=1", "-sample_index=alloc_objects", before)
	if err != nil {
		return nil, err
	}
	space0, err := e.pprof(ctx, "-top", "-nodecount=1", "-sample_index=alloc_space", before)
	if err != nil {
		return nil, err
	}
	rep := &report{
		Title:   "Where weft's time and allocations go",
		Intro:   "Not a scenario of issue 6 but its request for profiles: one weft hop (`--concurrency 1`, pinned to core 0) at full load (fortio `-qps 0 -c 64` on core 1, 1 KiB responses), profiled through the admin API.",
		Metrics: map[string]float64{"qps": r.QPS},
	}
	n := float64(r.Count)
	// The totals since start, less those before the load, over the requests.
	v1, ok1 := pprofTotal(objs)
	v0, ok0 := pprofTotal(objs0)
	if ok1 && ok0 && n > 0 {
		rep.Metrics["allocs_per_request"] = (v1 - v0) / n
	}
	v1, ok1 = pprofTotal(space)
	v0, ok0 = pprofTotal(space0)
	if ok1 && ok0 && n > 0 {
		rep.Metrics["alloc_bytes_per_request"] = (v1 - v0) / n
	}
	for _, f := range []string{"syscall.write", "syscall.read"} {
		if v, ok := cumShare(cum, f); ok {
			rep.Metrics["cpu_share/"+f] = v
		}
	}
	rep.Headline = fmt.Sprintf("%s req/s on one core; %.0f%% of weft's CPU is in write(2) and %.0f%% in read(2) (loopback TCP included); about %.0f heap allocations and %.0f bytes allocated per request; top flat costs: %s.",
		num(r.QPS), get(rep.Metrics, "cpu_share/syscall.write"), get(rep.Metrics, "cpu_share/syscall.read"),
		get(rep.Metrics, "allocs_per_request"), get(rep.Metrics, "alloc_bytes_per_request"), strings.Join(topFuncs(flat, 3), ", "))
	rep.Sections = []section{
		{Heading: "CPU, by own time (flat)", Text: fence(flat)},
		{Heading: "CPU, cumulative", Text: fence(cum)},
		{Heading: "Allocations since start (the load dominates), by count", Text: fence(objs)},
		{Heading: "Allocations since start (the load dominates), by bytes", Text: fence(space)},
	}
	rep.Method = []string{
		fmt.Sprintf("`POST /cpuprofiler?enable=y`, fortio `load -qps 0 -c 64 -t %s`, `POST /cpuprofiler?enable=n`; `go tool pprof -top` on the profile and the weft binary.", dur),
		"Allocations: `/heap_dump` after the load, `go tool pprof -sample_index=alloc_objects|alloc_space -top` (counted since the start; the load dominates). Per request: the totals after the load less those before it, over the requests. Go samples allocations (one per 512 KiB on average) and publishes them at garbage collections, so these are estimates.",
		"The profiled run is not one of the measured runs: profiling costs a few per cent.",
	}
	return rep, nil
}

// pprof runs go tool pprof against the weft binary and returns its text.
func (e *env) pprof(ctx context.Context, args ...string) (string, error) {
	last := len(args) - 1
	args = append(append([]string{"tool", "pprof"}, args[:last]...), e.weft, args[last])
	out, err := exec.CommandContext(ctx, "go", args...).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

var pprofTotalRe = regexp.MustCompile(`of ([0-9.]+)([kMGT]?B?) total`)

// pprofTotal reads the total from "Showing nodes accounting for X, Y% of Z total".
func pprofTotal(out string) (float64, bool) {
	m := pprofTotalRe.FindStringSubmatch(out)
	if m == nil {
		return 0, false
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		return 0, false
	}
	scale := map[string]float64{"": 1, "B": 1, "k": 1e3, "kB": 1 << 10, "M": 1e6, "MB": 1 << 20, "G": 1e9, "GB": 1 << 30, "T": 1e12, "TB": 1 << 40}
	return v * scale[m[2]], true
}

// topFuncs are the first n function names of a pprof -top listing.
func topFuncs(out string, n int) []string {
	var fs []string
	started := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "flat" {
			started = true
			continue
		}
		if started && len(f) >= 6 && len(fs) < n {
			fs = append(fs, "`"+strings.Join(f[5:], " ")+"`")
		}
	}
	return fs
}

// cumShare is the cum% of the named function in a pprof -top -cum listing.
func cumShare(out, name string) (float64, bool) {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) >= 6 && f[5] == name {
			v, err := strconv.ParseFloat(strings.TrimSuffix(f[4], "%"), 64)
			return v, err == nil
		}
	}
	return 0, false
}

func fence(s string) string { return "```\n" + s + "\n```" }

func adminPost(admin int, path string) error {
	resp, err := http.Post("http://"+addr(admin)+path, "text/plain", nil)
	if err != nil {
		return fmt.Errorf("admin %s: %w", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin %s: %s: %s", path, resp.Status, b)
	}
	return nil
}

func adminGet(admin int, path, file string) error {
	resp, err := http.Get("http://" + addr(admin) + path)
	if err != nil {
		return fmt.Errorf("admin %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("admin %s: %s", path, resp.Status)
	}
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("admin %s: %w", path, err)
	}
	return f.Close()
}
