package main

import (
	"context"
	"fmt"
	"time"
)

// Cores of scenario 2: the proxy on one, the load generator and the origin on the
// other.
const (
	proxyCPU = "0"
	loadCPU  = "1"
)

// tputRun is one throughput measurement: the load's result and the proxy's CPU.
type tputRun struct {
	Result  result  `json:"result"`
	CPUSecs float64 `json:"proxy_cpu_seconds"`
	Wall    float64 `json:"wall_seconds"`
}

// busy is the fraction of its core the proxy used.
func (t tputRun) busy() float64 { return t.CPUSecs / t.Wall }

// perCPU is requests per second of proxy CPU: throughput per core, whether or not
// the load generator managed to fill the core.
func (t tputRun) perCPU() float64 { return float64(t.Result.Count) / t.CPUSecs }

// runThroughput is scenario 2: -qps 0 over 64 connections, each proxy with one
// worker pinned to one core, the load generator and the origin on the other.
func runThroughput(ctx context.Context, e *env) (*report, error) {
	up, err := e.startUpstream(ctx, loadCPU, 1, false)
	if err != nil {
		return nil, err
	}
	paths, err := e.startPaths(ctx, pathOpts{to: up.h1, workers: 1, cpus: proxyCPU}, pathDirect, pathWeft, pathNginx, pathHAProxy)
	if err != nil {
		return nil, err
	}
	if err := e.warm(ctx, paths); err != nil {
		return nil, err
	}
	dur := e.dur(30*time.Second, 2*time.Second)
	runs := map[string][]tputRun{}
	for rep := range e.reps {
		for _, p := range paths {
			if p.err != nil {
				continue
			}
			fmt.Printf("   rep %d/%d: %s, 64 connections, max qps, %s\n", rep+1, e.reps, p.name, dur)
			t, err := e.measureCPU(ctx, p, load{url: p.url(), conns: 64, dur: dur, cpus: loadCPU})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			runs[p.name] = append(runs[p.name], t)
		}
	}
	return throughputReport(e, paths, runs, dur)
}

// measureCPU runs a load and the CPU the path's proxies spent meanwhile.
func (e *env) measureCPU(ctx context.Context, p path, l load) (tputRun, error) {
	before, err := p.cpuOf()
	if err != nil {
		return tputRun{}, err
	}
	start := time.Now()
	r, err := e.fortio(ctx, l)
	if err != nil {
		return tputRun{}, err
	}
	wall := time.Since(start).Seconds()
	after, err := p.cpuOf()
	if err != nil {
		return tputRun{}, err
	}
	return tputRun{Result: r, CPUSecs: (after.cpu - before.cpu).Seconds(), Wall: wall}, nil
}

// pairedRatio is the median over repetitions of f(a)/f(b), the runs paired by index.
func pairedRatio(a, b []tputRun, f func(tputRun) float64) float64 {
	var rs []float64
	for i := range min(len(a), len(b)) {
		rs = append(rs, f(a[i])/f(b[i]))
	}
	return median(rs)
}

func medianOf(rs []tputRun, f func(tputRun) float64) float64 {
	var xs []float64
	for _, r := range rs {
		xs = append(xs, f(r))
	}
	return median(xs)
}

func throughputReport(e *env, paths []path, runs map[string][]tputRun, dur time.Duration) (*report, error) {
	r := &report{
		Title:   "Throughput per core",
		Intro:   "Scenario 2 of issue 6: fortio with `-qps 0` (as fast as it goes) over 64 keep-alive connections, each proxy with one worker pinned to core 0, the load generator and the nginx origin pinned to core 1. `direct` is the ceiling of the load side: fortio straight to the origin on the same core.",
		Metrics: map[string]float64{},
		Raw:     runs,
	}
	rps := func(t tputRun) float64 { return t.Result.QPS }
	cpuRate := func(t tputRun) float64 { return t.perCPU() }
	t := &table{Header: []string{"path", "req/s", "vs nginx", "vs haproxy", "proxy core busy", "req per proxy CPU-second", "vs nginx", "p50 ms", "p99 ms", "errors"}}
	var names []string
	var rpsVals, cpuVals []float64
	for _, p := range paths {
		rs := runs[p.name]
		if len(rs) == 0 {
			continue
		}
		m := medianResult(results(rs))
		busy, perCPU, vsN, vsH, cpuN := "", "", "", "", ""
		if p.name != pathDirect {
			busy = fmt.Sprintf("%.0f%%", 100*medianOf(rs, tputRun.busy))
			perCPU = num(medianOf(rs, cpuRate))
			vsN = ratio(pairedRatio(rs, runs[pathNginx], rps))
			vsH = ratio(pairedRatio(rs, runs[pathHAProxy], rps))
			cpuN = ratio(pairedRatio(rs, runs[pathNginx], cpuRate))
			cpuVals = append(cpuVals, medianOf(rs, cpuRate))
		} else {
			cpuVals = append(cpuVals, 0)
		}
		t.add(p.name, num(m.QPS), vsN, vsH, busy, perCPU, cpuN, ms(m.Pct["50"]), ms(m.Pct["99"]), fmt.Sprint(m.Errors))
		names = append(names, p.name)
		rpsVals = append(rpsVals, m.QPS)
		r.Metrics["rps/"+p.name] = m.QPS
		if p.name != pathDirect {
			r.Metrics["rps_per_cpu_second/"+p.name] = medianOf(rs, cpuRate)
			r.Metrics["core_busy/"+p.name] = medianOf(rs, tputRun.busy)
		}
	}
	m := r.Metrics
	m["ratio_rps_weft_nginx"] = pairedRatio(runs[pathWeft], runs[pathNginx], rps)
	m["ratio_rps_weft_haproxy"] = pairedRatio(runs[pathWeft], runs[pathHAProxy], rps)
	m["ratio_rps_per_cpu_weft_nginx"] = pairedRatio(runs[pathWeft], runs[pathNginx], cpuRate)
	if err := barChart(e.out, "throughput.png", "Requests per second, proxy on one pinned core (median)", "requests/s",
		names, []barSeries{{name: "req/s", values: rpsVals}, {name: "req per proxy CPU-second", values: cpuVals}}); err != nil {
		return nil, err
	}
	r.Sections = []section{{Heading: "Results", Table: t, Plots: []string{"throughput.png"}}}
	wn, wc := m["ratio_rps_weft_nginx"], m["ratio_rps_per_cpu_weft_nginx"]
	r.Targets = []targetRow{{
		Target:   "requests per second per core ≥ nginx's (judged by requests per proxy CPU-second, which holds whether or not the load side filled the core)",
		Measured: fmt.Sprintf("weft/nginx: %s by req/s, %s by requests per CPU-second", ratio(wn), ratio(wc)),
		Verdict:  verdict(wc >= 1, fmt.Sprintf("weft serves %.1f%% of nginx's requests per CPU-second", 100*wc)),
	}}
	r.Headline = fmt.Sprintf("One core: weft %s req/s = %s× nginx, %s× haproxy (per proxy CPU-second: %s× nginx).",
		num(get(m, "rps/weft")), ratio(wn), ratio(m["ratio_rps_weft_haproxy"]), ratio(wc))
	r.Method = []string{
		fmt.Sprintf("fortio `load -qps 0 -c 64 -t %s` pinned with `taskset -c %s`, after a 1 s warm-up of each path; the paths take turns within each repetition.", dur, loadCPU),
		fmt.Sprintf("weft `--concurrency 1`, nginx `worker_processes 1`, haproxy `nbthread 1`, each started under `taskset -c %s`; the nginx origin (1 worker) shares core %s with fortio.", proxyCPU, loadCPU),
		"`proxy core busy` is the proxy's CPU time (utime+stime from /proc, workers included) over the run's wall time. Below about 95% the load side, not the proxy, was the limit, and `req per proxy CPU-second` is the fairer per-core figure.",
		"Ratios are paired per repetition (weft's run against nginx's run of the same repetition), then the median is taken.",
	}
	r.Notes = notMeasured(paths)
	return r, nil
}

func results(rs []tputRun) []result {
	out := make([]result, len(rs))
	for i, r := range rs {
		out[i] = r.Result
	}
	return out
}
