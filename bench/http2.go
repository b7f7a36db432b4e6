package main

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// runHTTP2 is scenario 5: h2load over h2c and ghz unary gRPC through weft, nginx and
// haproxy, beside the direct connection.
func runHTTP2(ctx context.Context, e *env) (*report, error) {
	up, err := e.startUpstream(ctx, "", 2, true)
	if err != nil {
		return nil, err
	}
	names := []string{pathDirect, pathWeft, pathNginx, pathHAProxy}
	h2, err := e.startPaths(ctx, pathOpts{to: up.h1, workers: 2, h2: true, suffix: "-h2"}, names...)
	if err != nil {
		return nil, err
	}
	h2[0].port = up.h2 // direct: the origin's own h2c listener
	grpc, err := e.startPaths(ctx, pathOpts{to: up.grpc, workers: 2, grpc: true, suffix: "-grpc"}, names...)
	if err != nil {
		return nil, err
	}
	dur := e.dur(15*time.Second, 2*time.Second)
	h2runs, grpcRuns := map[string][]result{}, map[string][]result{}
	var notes []string
	if _, err := e.tool(ctx, "ghz"); err != nil {
		notes = append(notes, "unary gRPC was not measured: "+err.Error())
		grpc = nil
	}
	for rep := range e.reps {
		for _, p := range h2 {
			if p.err != nil {
				continue
			}
			fmt.Printf("   rep %d/%d: h2load %s, 8 connections x 16 streams, %s\n", rep+1, e.reps, p.name, dur)
			r, err := e.h2load(ctx, p.url(), 8, 16, dur)
			if err != nil {
				return nil, fmt.Errorf("h2load %s: %w", p.name, err)
			}
			h2runs[p.name] = append(h2runs[p.name], r)
		}
		for _, p := range grpc {
			if p.err != nil {
				continue
			}
			fmt.Printf("   rep %d/%d: ghz %s, 16 concurrent calls on 1 connection, %s\n", rep+1, e.reps, p.name, dur)
			r, err := e.ghz(ctx, addr(p.port), 16, dur)
			if err != nil {
				return nil, fmt.Errorf("ghz %s: %w", p.name, err)
			}
			grpcRuns[p.name] = append(grpcRuns[p.name], r)
			for k, n := range r.ErrKinds {
				if strings.Contains(k, "is closing") {
					continue // calls in flight when ghz stops: see the method
				}
				notes = append(notes, fmt.Sprintf("ghz %s, repetition %d: %d × %q", p.name, rep+1, n, k))
			}
		}
	}
	r, err := http2Report(e, names, h2runs, grpcRuns, dur)
	if err != nil {
		return nil, err
	}
	r.Notes = append(append(notMeasured(h2), notMeasured(grpc)...), notes...)
	return r, nil
}

func http2Report(e *env, names []string, h2runs, grpcRuns map[string][]result, dur time.Duration) (*report, error) {
	r := &report{
		Title:   "HTTP/2 and gRPC",
		Intro:   "Scenario 5 of issue 6: h2load over cleartext HTTP/2 (prior knowledge) and ghz with unary gRPC calls, through weft, nginx and haproxy (2 workers each), beside the direct connection. The HTTP/2 origin is nginx answering 1 KiB (the proxies speak HTTP/1.1 to it, nginx's only upstream protocol); the gRPC origin is fortio's ping server, reached over HTTP/2 by every proxy.",
		Metrics: map[string]float64{},
		Raw:     map[string]any{"h2load": h2runs, "ghz": grpcRuns},
	}
	qps := func(r result) float64 { return r.QPS }
	th := &table{Header: []string{"path", "h2load req/s", "vs nginx", "vs haproxy", "vs direct", "mean ms", "errors"}}
	tg := &table{Header: []string{"path", "ghz calls/s", "vs nginx", "vs haproxy", "vs direct", "p50 ms", "p90 ms", "p99 ms", "errors"}}
	var groups []string
	var h2v, gv []float64
	var lat []barSeries
	for _, n := range names {
		groups = append(groups, n)
		h, g := medianResult(h2runs[n]), medianResult(grpcRuns[n])
		h2v, gv = append(h2v, h.QPS), append(gv, g.QPS)
		if rs := h2runs[n]; len(rs) > 0 {
			th.add(n, num(h.QPS), ratio(pairedFunc(rs, h2runs[pathNginx], qps)), ratio(pairedFunc(rs, h2runs[pathHAProxy], qps)),
				ratio(pairedFunc(rs, h2runs[pathDirect], qps)), ms(h.Mean), fmt.Sprint(h.Errors))
			r.Metrics["h2load_rps/"+n] = h.QPS
		}
		if rs := grpcRuns[n]; len(rs) > 0 {
			tg.add(n, num(g.QPS), ratio(pairedFunc(rs, grpcRuns[pathNginx], qps)), ratio(pairedFunc(rs, grpcRuns[pathHAProxy], qps)),
				ratio(pairedFunc(rs, grpcRuns[pathDirect], qps)), ms(g.Pct["50"]), ms(g.Pct["90"]), ms(g.Pct["99"]), fmt.Sprint(g.Errors))
			r.Metrics["ghz_rps/"+n] = g.QPS
			lat = append(lat, barSeries{name: n, values: []float64{g.Pct["50"], g.Pct["90"], g.Pct["99"]}})
		}
	}
	m := r.Metrics
	m["ratio_h2load_weft_nginx"] = pairedFunc(h2runs[pathWeft], h2runs[pathNginx], qps)
	m["ratio_ghz_weft_nginx"] = pairedFunc(grpcRuns[pathWeft], grpcRuns[pathNginx], qps)
	if err := barChart(e.out, "http2-rps.png", "HTTP/2 and gRPC throughput (median)", "requests/s", groups,
		[]barSeries{{name: "h2load req/s", values: h2v}, {name: "ghz unary calls/s", values: gv}}); err != nil {
		return nil, err
	}
	r.Sections = []section{{Heading: "HTTP/2 (h2load)", Table: th, Plots: []string{"http2-rps.png"}}}
	if len(lat) > 0 {
		if err := barChart(e.out, "http2-grpc-latency.png", "Unary gRPC latency (median)", "ms", []string{"p50", "p90", "p99"}, lat); err != nil {
			return nil, err
		}
		r.Sections = append(r.Sections, section{Heading: "Unary gRPC (ghz)", Table: tg, Plots: []string{"http2-grpc-latency.png"}})
	} else {
		r.Sections = append(r.Sections, section{Heading: "Unary gRPC (ghz)", Text: "Not measured: see the notes."})
	}
	r.Headline = fmt.Sprintf("weft vs nginx: %s× h2load req/s, %s× ghz unary calls/s.", ratio(m["ratio_h2load_weft_nginx"]), ratio(m["ratio_ghz_weft_nginx"]))
	r.Method = []string{
		fmt.Sprintf("h2load `-c 8 -m 16 -t 1 -D %d --warm-up-time 1` (8 connections, 16 concurrent streams each) against `http://` URLs, so HTTP/2 with prior knowledge.", int(dur.Seconds())),
		fmt.Sprintf("ghz `--insecure -c 16 -z %s` calling fgrpc.PingServer.Ping (fortio's ping service) with a 64-byte payload; ghz multiplexes the 16 workers over one connection. ghz counts the calls still in flight when the run ends (at most 16, \"client connection is closing\" / \"transport is closing\") as errors, on the direct path too; other errors are listed in the notes.", dur),
		"weft routes with `grpc: {}` to an HTTP/2 cluster; nginx uses `grpc_pass`; haproxy `proto h2` on both sides. All run with 2 workers and nothing is pinned; the tools take turns within each repetition.",
	}
	return r, nil
}
