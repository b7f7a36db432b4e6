package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// spreadConns are the connection counts of scenario 4.
func (e *env) spreadConns() []int {
	if e.quick {
		return []int{2, 64, 1024}
	}
	return []int{2, 4, 16, 64, 256, 1024}
}

// runSpread is scenario 4 (seed 001): qps and latency at -qps 0 as connections grow,
// weft at --concurrency 2 and 4 beside nginx with as many workers and a direct line.
func runSpread(ctx context.Context, e *env) (*report, error) {
	up, err := e.startUpstream(ctx, "", 2, false)
	if err != nil {
		return nil, err
	}
	paths := []path{{name: pathDirect, port: up.h1}}
	for _, w := range []int{2, 4} {
		for _, n := range []string{pathWeft, pathNginx} {
			p, err := e.startPath(ctx, n, pathOpts{to: up.h1, workers: w, suffix: fmt.Sprintf("-w%d", w)})
			if err != nil {
				return nil, err
			}
			p.name = fmt.Sprintf("%s ×%d", n, w)
			paths = append(paths, p)
		}
	}
	if err := e.warm(ctx, paths); err != nil {
		return nil, err
	}
	dur := e.dur(10*time.Second, 2*time.Second)
	runs := map[int]map[string][]result{}
	for rep := range e.reps {
		for _, c := range e.spreadConns() {
			if runs[c] == nil {
				runs[c] = map[string][]result{}
			}
			for _, p := range paths {
				if p.err != nil {
					continue
				}
				fmt.Printf("   rep %d/%d: %s, %d connections, max qps, %s\n", rep+1, e.reps, p.name, c, dur)
				r, err := e.fortio(ctx, load{url: p.url(), conns: c, dur: dur})
				if err != nil {
					return nil, fmt.Errorf("%s, %d connections: %w", p.name, c, err)
				}
				runs[c][p.name] = append(runs[c][p.name], r)
			}
		}
	}
	return spreadReport(e, paths, runs, dur)
}

func spreadReport(e *env, paths []path, runs map[int]map[string][]result, dur time.Duration) (*report, error) {
	r := &report{
		Title:   "Connection spread",
		Intro:   "Scenario 4 of issue 6 (seed 001): fortio at `-qps 0` (as fast as it goes) as the number of keep-alive connections grows from 2 to 1024, through weft at `--concurrency 2` and `4` and nginx with as many workers (`×N`), beside the direct connection. On a 2-core machine ×4 oversubscribes the cores, as a sidecar configured for more cores than it gets does.",
		Metrics: map[string]float64{},
		Raw:     runs,
	}
	t := &table{Header: []string{"connections", "path", "qps", "qps vs nginx", "p50 ms", "p90 ms", "p90 vs nginx", "p99 ms", "errors"}}
	series := map[string]*[3]lineSeries{} // qps, p50, p90
	for _, c := range e.spreadConns() {
		for _, p := range paths {
			rs := runs[c][p.name]
			if len(rs) == 0 {
				continue
			}
			m := medianResult(rs)
			vsQ, vsP := "", ""
			if w, ok := workersOf(p.name); ok && strings.HasPrefix(p.name, "weft") {
				base := runs[c][fmt.Sprintf("%s ×%d", pathNginx, w)]
				vsQ = ratio(pairedFunc(rs, base, func(r result) float64 { return r.QPS }))
				vsP = ratio(pairedFunc(rs, base, func(r result) float64 { return r.Pct["90"] }))
				r.Metrics[fmt.Sprintf("qps_ratio_vs_nginx/%s/c%d", p.name, c)] = pairedFunc(rs, base, func(r result) float64 { return r.QPS })
			}
			t.add(strconv.Itoa(c), p.name, num(m.QPS), vsQ, ms(m.Pct["50"]), ms(m.Pct["90"]), vsP, ms(m.Pct["99"]), strconv.FormatInt(m.Errors, 10))
			r.Metrics[fmt.Sprintf("qps/%s/c%d", p.name, c)] = m.QPS
			r.Metrics[fmt.Sprintf("p90_ms/%s/c%d", p.name, c)] = m.Pct["90"]
			s := series[p.name]
			if s == nil {
				s = &[3]lineSeries{{name: p.name}, {name: p.name}, {name: p.name}}
				series[p.name] = s
			}
			for i, v := range []float64{m.QPS, m.Pct["50"], m.Pct["90"]} {
				s[i].xs = append(s[i].xs, float64(c))
				s[i].ys = append(s[i].ys, v)
			}
		}
	}
	plots := []struct {
		file, title, y string
		logY           bool
	}{
		{"spread-qps.png", "Max qps by connections (median)", "requests/s", false},
		{"spread-p50.png", "p50 latency at max qps by connections (median)", "ms", true},
		{"spread-p90.png", "p90 latency at max qps by connections (median)", "ms", true},
	}
	for i, pl := range plots {
		var ls []lineSeries
		for _, p := range paths {
			if s := series[p.name]; s != nil {
				ls = append(ls, s[i])
			}
		}
		if err := lineChart(e.out, pl.file, pl.title, "connections", pl.y, true, pl.logY, ls); err != nil {
			return nil, err
		}
	}
	r.Sections = []section{{Heading: "Results", Table: t, Plots: []string{"spread-qps.png", "spread-p50.png", "spread-p90.png"}}}
	m := r.Metrics
	r.Headline = fmt.Sprintf("weft ×2 does %s× nginx ×2's qps at 64 connections and %s× at 1024; weft ×4 %s× and %s×.",
		ratio(get(m, "qps_ratio_vs_nginx/weft ×2/c64")), ratio(get(m, "qps_ratio_vs_nginx/weft ×2/c1024")),
		ratio(get(m, "qps_ratio_vs_nginx/weft ×4/c64")), ratio(get(m, "qps_ratio_vs_nginx/weft ×4/c1024")))
	r.Method = []string{
		fmt.Sprintf("fortio `load -qps 0 -c N -t %s` for N in %v, after a 1 s warm-up of each path; the paths take turns within each repetition; nothing is pinned.", dur, e.spreadConns()),
		"The origin is nginx (2 workers) answering 1 KiB; the proxies pool keep-alive connections to it.",
		"Ratios are paired per repetition against nginx with the same number of workers, then the median is taken.",
	}
	r.Notes = notMeasured(paths)
	return r, nil
}

// workersOf reads N from a path name "x ×N".
func workersOf(name string) (int, bool) {
	var base string
	var w int
	if _, err := fmt.Sscanf(name, "%s ×%d", &base, &w); err != nil {
		return 0, false
	}
	return w, true
}

// pairedFunc is the median over repetitions of f(a)/f(b), paired by index.
func pairedFunc(a, b []result, f func(result) float64) float64 {
	var rs []float64
	for i := range min(len(a), len(b)) {
		rs = append(rs, f(a[i])/f(b[i]))
	}
	return median(rs)
}
