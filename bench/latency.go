package main

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// latencyConns are the connection counts of scenario 1.
var latencyConns = []int{1, 16, 64}

// runLatency is scenario 1: fortio at 1000 qps through each path, the percentiles
// and the latency each path adds over the direct connection, paired per repetition.
func runLatency(ctx context.Context, e *env) (*report, error) {
	up, err := e.startUpstream(ctx, "", 2, false)
	if err != nil {
		return nil, err
	}
	paths, err := e.startPaths(ctx, pathOpts{to: up.h1, workers: 2}, pathDirect, pathWeft, pathWeft2, pathNginx, pathHAProxy)
	if err != nil {
		return nil, err
	}
	dur := e.dur(30*time.Second, 2*time.Second)
	if err := e.warm(ctx, paths); err != nil {
		return nil, err
	}
	// runs[conns][path] holds one result per repetition; the paths take turns so
	// that drift in the machine's load spreads over all of them.
	runs := map[int]map[string][]result{}
	for rep := range e.reps {
		for _, c := range latencyConns {
			if runs[c] == nil {
				runs[c] = map[string][]result{}
			}
			for _, p := range paths {
				if p.err != nil {
					continue
				}
				fmt.Printf("   rep %d/%d: %s, %d connections, 1000 qps, %s\n", rep+1, e.reps, p.name, c, dur)
				r, err := e.fortio(ctx, load{url: p.url(), qps: 1000, conns: c, dur: dur})
				if err != nil {
					return nil, fmt.Errorf("%s, %d connections: %w", p.name, c, err)
				}
				runs[c][p.name] = append(runs[c][p.name], r)
			}
		}
	}
	return latencyReport(e, paths, runs, dur)
}

// warm sends a second of traffic through each path so that connections exist
// before anything is measured.
func (e *env) warm(ctx context.Context, paths []path) error {
	for _, p := range paths {
		if p.err != nil {
			continue
		}
		if _, err := e.fortio(ctx, load{url: p.url(), qps: 1000, conns: 64, dur: time.Second}); err != nil {
			return fmt.Errorf("warm-up %s: %w", p.name, err)
		}
	}
	return nil
}

// added is the median over repetitions of a path's percentile minus direct's in the
// same repetition.
func added(rs, direct []result, pct string) float64 {
	var d []float64
	for i := range min(len(rs), len(direct)) {
		d = append(d, rs[i].Pct[pct]-direct[i].Pct[pct])
	}
	return median(d)
}

func latencyReport(e *env, paths []path, runs map[int]map[string][]result, dur time.Duration) (*report, error) {
	r := &report{
		Title:   "Latency per hop",
		Intro:   "Scenario 1 of issue 6, Istio's method: fortio at a fixed 1000 qps, 1 KiB responses from an nginx origin, HTTP/1.1 keep-alive, through each path. The added latency is the path's percentile minus the direct connection's in the same repetition (median over repetitions).",
		Metrics: map[string]float64{},
		Raw:     runs,
	}
	t := &table{Header: []string{"connections", "path", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms",
		"added p50", "added p90", "added p99", "added p99.9", "qps", "errors"}}
	var addedSeries []barSeries
	for _, p := range paths {
		if p.name != pathDirect && p.err == nil {
			addedSeries = append(addedSeries, barSeries{name: p.name})
		}
	}
	var groups []string
	for _, c := range latencyConns {
		groups = append(groups, conns(c))
		var bars []barSeries
		for _, p := range paths {
			rs := runs[c][p.name]
			if len(rs) == 0 {
				continue
			}
			m := medianResult(rs)
			row := []string{strconv.Itoa(c), p.name}
			vals := make([]float64, len(percentiles))
			for i, pc := range percentiles {
				row = append(row, ms(m.Pct[pc]))
				vals[i] = m.Pct[pc]
			}
			for _, pc := range percentiles {
				a := added(rs, runs[c][pathDirect], pc)
				if p.name == pathDirect {
					row = append(row, "")
					continue
				}
				row = append(row, signedMs(a))
				r.Metrics[fmt.Sprintf("added_p%s_ms/%s/c%d", pc, p.name, c)] = a
			}
			t.add(append(row, num(m.QPS), strconv.FormatInt(m.Errors, 10))...)
			bars = append(bars, barSeries{name: p.name, values: vals})
			r.Metrics[fmt.Sprintf("p99_ms/%s/c%d", p.name, c)] = m.Pct["99"]
			for i := range addedSeries {
				if addedSeries[i].name == p.name {
					addedSeries[i].values = append(addedSeries[i].values, added(rs, runs[c][pathDirect], "99"))
				}
			}
		}
		file := fmt.Sprintf("latency-c%d.png", c)
		if err := barChart(e.out, file, fmt.Sprintf("Latency at 1000 qps, %s (median of %d)", conns(c), e.reps),
			"ms", []string{"p50", "p90", "p99", "p99.9"}, bars); err != nil {
			return nil, err
		}
		r.Sections = append(r.Sections, section{Heading: conns(c), Plots: []string{file}})
	}
	if err := barChart(e.out, "latency-added-p99.png", "p99 added over direct at 1000 qps", "ms", groups, addedSeries); err != nil {
		return nil, err
	}
	r.Sections = append([]section{{Heading: "Results", Table: t, Plots: []string{"latency-added-p99.png"}}}, r.Sections...)
	latencyTargets(r)
	r.Method = []string{
		fmt.Sprintf("fortio `load -qps 1000 -c {1,16,64} -t %s -r 0.00001` against each path, after a 1 s warm-up of each path; the paths take turns within each repetition.", dur),
		"Paths: direct to the origin; one weft hop; two weft hops (a client sidecar forwarding to a server sidecar, both plaintext: mTLS comes with the control plane); nginx and haproxy as one-hop baselines.",
		"All proxies run with 2 workers (weft `--concurrency 2`, nginx `worker_processes 2`, haproxy `nbthread 2`), pool keep-alive connections to the origin, and log nothing; nothing is pinned.",
		"The origin is nginx (2 workers) answering every request with 1 KiB.",
	}
	r.Notes = notMeasured(paths)
	return r, nil
}

func latencyTargets(r *report) {
	for _, c := range latencyConns {
		w2, okW := r.Metrics[fmt.Sprintf("added_p99_ms/%s/c%d", pathWeft2, c)]
		hp, okH := r.Metrics[fmt.Sprintf("added_p99_ms/%s/c%d", pathHAProxy, c)]
		if !okW || !okH {
			continue
		}
		r.Targets = append(r.Targets, targetRow{
			Target:   fmt.Sprintf("%s: added p99 of two weft hops ≤ added p99 of one haproxy hop", conns(c)),
			Measured: fmt.Sprintf("weft 2 hops %s ms, haproxy %s ms", signedMs(w2), signedMs(hp)),
			Verdict:  verdict(w2 <= hp, fmt.Sprintf("by %.3f ms", w2-hp)),
		})
	}
	m := r.Metrics
	r.Headline = fmt.Sprintf("At 16 connections, p99 added over direct: one weft hop %s ms, two weft hops %s ms, nginx %s ms, haproxy %s ms.",
		signedMs(get(m, "added_p99_ms/weft/c16")), signedMs(get(m, "added_p99_ms/weft 2 hops/c16")),
		signedMs(get(m, "added_p99_ms/nginx/c16")), signedMs(get(m, "added_p99_ms/haproxy/c16")))
}

// conns words a connection count.
func conns(n int) string {
	if n == 1 {
		return "1 connection"
	}
	return fmt.Sprintf("%d connections", n)
}
