package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// resRun is one measurement of scenario 3 for one proxy.
type resRun struct {
	IdleRSS  float64 `json:"idle_rss_bytes"`
	LoadRSS  float64 `json:"load_rss_bytes"` // peak during the load
	IdleAnon float64 `json:"idle_rss_anon_bytes"`
	LoadAnon float64 `json:"load_rss_anon_bytes"`
	CPUSecs  float64 `json:"cpu_seconds"`
	Requests int64   `json:"requests"`
	QPS      float64 `json:"qps"`
	Heap     float64 `json:"go_heap_bytes,omitempty"` // weft only: /memory allocated after the load
}

// cpuPerK is CPU seconds per 1000 requests, which is also vCPU per 1000 rps.
func (r resRun) cpuPerK() float64 { return r.CPUSecs / (float64(r.Requests) / 1000) }

// runResources is scenario 3: each proxy is started fresh, its idle RSS read, then
// fortio sends 1000 qps over 16 connections while its CPU and peak RSS are read.
func runResources(ctx context.Context, e *env) (*report, error) {
	up, err := e.startUpstream(ctx, "", 2, false)
	if err != nil {
		return nil, err
	}
	dur := e.dur(30*time.Second, 3*time.Second)
	settle := e.dur(5*time.Second, time.Second)
	names := []string{pathWeft, pathWeft2, pathNginx, pathHAProxy}
	runs := map[string][]resRun{}
	var failed []path
	for rep := range e.reps {
		for i, n := range names {
			p, err := e.startPath(ctx, n, pathOpts{to: up.h1, workers: 2, suffix: fmt.Sprintf("-r%d-%d", rep, i)})
			if err != nil {
				return nil, err
			}
			if p.err != nil {
				if rep == 0 {
					failed = append(failed, p)
				}
				continue
			}
			fmt.Printf("   rep %d/%d: %s, 16 connections, 1000 qps, %s\n", rep+1, e.reps, n, dur)
			rr, err := e.measureResources(ctx, p, dur, settle)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", n, err)
			}
			runs[n] = append(runs[n], rr)
			for _, pr := range p.procs {
				pr.stop()
			}
		}
	}
	return resourcesReport(e, names, runs, dur, failed)
}

func (e *env) measureResources(ctx context.Context, p path, dur, settle time.Duration) (resRun, error) {
	select {
	case <-ctx.Done():
		return resRun{}, ctx.Err()
	case <-time.After(settle):
	}
	idle, err := p.cpuOf()
	if err != nil {
		return resRun{}, err
	}
	var samplers []*sampler
	for _, pr := range p.procs {
		samplers = append(samplers, startSampler(pr.pid()))
	}
	r, err := e.fortio(ctx, load{url: p.url(), qps: 1000, conns: 16, dur: dur})
	var peak usage
	for _, s := range samplers {
		pk := s.finish()
		peak.rss += pk.rss
		peak.anon += pk.anon
	}
	if err != nil {
		return resRun{}, err
	}
	after, err := p.cpuOf()
	if err != nil {
		return resRun{}, err
	}
	rr := resRun{IdleRSS: float64(idle.rss), LoadRSS: float64(peak.rss), IdleAnon: float64(idle.anon), LoadAnon: float64(peak.anon),
		CPUSecs:  (after.cpu - idle.cpu).Seconds(),
		Requests: r.Count, QPS: r.QPS}
	for _, pr := range p.procs {
		if pr.admin != 0 {
			h, err := goHeap(pr.admin)
			if err != nil {
				return rr, fmt.Errorf("%s /memory: %w", pr.name, err)
			}
			rr.Heap += h
		}
	}
	return rr, nil
}

// goHeap reads weft's admin /memory: "allocated" is the Go heap (HeapAlloc).
func goHeap(admin int) (float64, error) {
	resp, err := http.Get("http://" + addr(admin) + "/memory")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		return 0, err
	}
	// protojson writes 64-bit integers as strings.
	switch v := m["allocated"].(type) {
	case string:
		return strconv.ParseFloat(v, 64)
	case float64:
		return v, nil
	}
	return 0, fmt.Errorf("no allocated field in %v", m)
}

func medianRes(rs []resRun, f func(resRun) float64) float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, f(r))
	}
	return median(xs)
}

func resourcesReport(e *env, names []string, runs map[string][]resRun, dur time.Duration, failed []path) (*report, error) {
	r := &report{
		Title:   "CPU and memory under load",
		Intro:   "Scenario 3 of issue 6: each proxy (2 workers) is started fresh, left idle, then fortio sends 1000 qps over 16 keep-alive connections for the run. CPU seconds per 1000 requests equals vCPU per 1000 rps. Memory is VmRSS from /proc, summed over the proxy's processes (nginx's master and workers); `weft 2 hops` is the sum of both sidecars.",
		Metrics: map[string]float64{},
		Raw:     runs,
	}
	t := &table{Header: []string{"proxy", "CPU s per 1000 req (vCPU per 1000 rps)", "vs nginx", "idle RSS MiB", "RSS at 1000 rps MiB",
		"idle anonymous MiB", "anonymous at 1000 rps MiB", "Go heap MiB", "qps"}}
	var cpu, idle, loaded []float64
	var groups []string
	cpuNginx := medianRes(runs[pathNginx], resRun.cpuPerK)
	for _, n := range names {
		rs := runs[n]
		if len(rs) == 0 {
			continue
		}
		c := medianRes(rs, resRun.cpuPerK)
		i, l := medianRes(rs, func(r resRun) float64 { return r.IdleRSS }), medianRes(rs, func(r resRun) float64 { return r.LoadRSS })
		heap := ""
		if n == pathWeft || n == pathWeft2 {
			heap = mib(medianRes(rs, func(r resRun) float64 { return r.Heap }))
		}
		ia, la := medianRes(rs, func(r resRun) float64 { return r.IdleAnon }), medianRes(rs, func(r resRun) float64 { return r.LoadAnon })
		t.add(n, fmt.Sprintf("%.3f", c), ratio(c/cpuNginx), mib(i), mib(l), mib(ia), mib(la), heap,
			num(medianRes(rs, func(r resRun) float64 { return r.QPS })))
		r.Metrics["idle_anon_mib/"+n] = ia / (1 << 20)
		r.Metrics["load_anon_mib/"+n] = la / (1 << 20)
		groups = append(groups, n)
		cpu, idle, loaded = append(cpu, c), append(idle, i/(1<<20)), append(loaded, l/(1<<20))
		r.Metrics["cpu_s_per_1000_req/"+n] = c
		r.Metrics["idle_rss_mib/"+n] = i / (1 << 20)
		r.Metrics["load_rss_mib/"+n] = l / (1 << 20)
	}
	if err := barChart(e.out, "resources-cpu.png", "CPU seconds per 1000 requests at 1000 rps (median)", "CPU s / 1000 req",
		groups, []barSeries{{name: "CPU per 1000 requests", values: cpu}}); err != nil {
		return nil, err
	}
	if err := barChart(e.out, "resources-rss.png", "Resident memory (median)", "MiB",
		groups, []barSeries{{name: "idle", values: idle}, {name: "at 1000 rps", values: loaded}}); err != nil {
		return nil, err
	}
	r.Sections = []section{{Heading: "Results", Table: t, Plots: []string{"resources-cpu.png", "resources-rss.png"}}}
	resourcesTargets(r)
	r.Method = []string{
		fmt.Sprintf("Per repetition and proxy: start it, wait %s, read idle RSS; run fortio `load -qps 1000 -c 16 -t %s` while sampling RSS every 250 ms (the peak is shown); CPU is utime+stime from /proc over the load; stop it.", e.dur(5*time.Second, time.Second), dur),
		"weft `--concurrency 2`, nginx `worker_processes 2`, haproxy `nbthread 2`; the origin is nginx answering 1 KiB; nothing is pinned.",
		"RSS is VmRSS; `anonymous` is its RssAnon part: the process's own memory, without the pages of its binary (RssFile), which processes running the same binary share through the page cache.",
		"Go heap is weft's admin `/memory` `allocated` (runtime HeapAlloc, live and not yet swept) after the load.",
		"MiB here are 2^20 bytes; the targets' MB are read as MiB.",
	}
	r.Notes = notMeasured(failed)
	return r, nil
}

func resourcesTargets(r *report) {
	m := r.Metrics
	c, i, l := get(m, "cpu_s_per_1000_req/weft"), get(m, "idle_rss_mib/weft"), get(m, "load_rss_mib/weft")
	ia, la := get(m, "idle_anon_mib/weft"), get(m, "load_anon_mib/weft")
	r.Targets = []targetRow{
		{"≤ 0.15 vCPU per 1000 rps (Istio 1.24: 0.20)", fmt.Sprintf("%.3f", c), verdict(c <= 0.15, fmt.Sprintf("by %.3f vCPU (%.1f×)", c-0.15, c/0.15))},
		{"RSS ≤ 20 MB idle", fmt.Sprintf("%.1f MiB (anonymous %.1f MiB)", i, ia), verdict(i <= 20, fmt.Sprintf("by %.1f MiB", i-20))},
		{"RSS ≤ 30 MB at 1000 rps (Istio 1.24: 60 MB)", fmt.Sprintf("%.1f MiB (anonymous %.1f MiB)", l, la), verdict(l <= 30, fmt.Sprintf("by %.1f MiB", l-30))},
	}
	r.Headline = fmt.Sprintf("weft at 1000 rps: %.3f vCPU per 1000 rps (nginx %.3f, haproxy %.3f); RSS %.1f MiB idle, %.1f MiB loaded (anonymous %.1f and %.1f MiB).",
		c, get(m, "cpu_s_per_1000_req/nginx"), get(m, "cpu_s_per_1000_req/haproxy"), i, l, ia, la)
}
