package main

import (
	"fmt"
	"strconv"
	"time"
)

// Envoy's own CI bounds on memory per cluster and per endpoint, and issue 6's targets.
const (
	envoyPerCluster  = 42 * 1000.0
	envoyPerEndpoint = 1.3 * 1000.0
	targetPerCluster = 10 * 1000.0
	targetPerEndpt   = 0.5 * 1000.0
)

func configSizeReport(e *env, runs []cfgRun, settle time.Duration) (*report, error) {
	r := &report{
		Title: "Memory vs config size (static bootstrap)",
		Intro: "Scenario 6 of issue 6 in its **static form**: weft is given N clusters × E endpoints in a bootstrap file, " +
			"not over xDS (the control plane, issue 4, does not exist yet; `go run ./bench xds-memory` will measure the xDS form " +
			"and Sidecar scoping). Resident memory and the Go heap are read once the config has settled; the cost per cluster " +
			"and per endpoint comes from a least-squares fit of memory = base + a·clusters + b·endpoints over all points.",
		Metrics: map[string]float64{},
		Raw:     runs,
	}
	t := &table{Header: []string{"clusters", "endpoints each", "endpoints", "seconds to ready", "RSS MiB", "anonymous MiB", "Go heap MiB"}}
	var x [][]float64
	var rssY, heapY []float64
	lines := map[int]*[2]lineSeries{}
	for _, pt := range e.configPoints() {
		var rs, as, hs, ss []float64
		for _, run := range runs {
			if run.Point == pt {
				rs, as, hs, ss = append(rs, run.RSS), append(as, run.Anon), append(hs, run.Heap), append(ss, run.StartSecs)
			}
		}
		rss, heap := median(rs), median(hs)
		each := strconv.Itoa(pt.Endpoints)
		if pt.Clusters == 0 {
			each = "-"
		}
		t.add(strconv.Itoa(pt.Clusters), each, strconv.Itoa(pt.total()),
			fmt.Sprintf("%.2f", median(ss)), mib(rss), mib(median(as)), mib(heap))
		x = append(x, []float64{float64(pt.Clusters), float64(pt.total())})
		rssY, heapY = append(rssY, rss), append(heapY, heap)
		key := fmt.Sprintf("%dx%d", pt.Clusters, pt.Endpoints)
		r.Metrics["rss_mib/"+key] = rss / (1 << 20)
		r.Metrics["heap_mib/"+key] = heap / (1 << 20)
		l := lines[pt.Endpoints]
		if l == nil {
			l = &[2]lineSeries{
				{name: fmt.Sprintf("RSS, %s per cluster", plural(pt.Endpoints, "endpoint"))},
				{name: fmt.Sprintf("Go heap, %s per cluster", plural(pt.Endpoints, "endpoint"))},
			}
			lines[pt.Endpoints] = l
		}
		for i, v := range []float64{rss, heap} {
			l[i].xs = append(l[i].xs, float64(pt.Clusters))
			l[i].ys = append(l[i].ys, v/(1<<20))
		}
	}
	// The 0-cluster point belongs to both lines.
	if z, one := lines[10], lines[1]; z != nil && one != nil && len(z[0].xs) > 0 && z[0].xs[0] == 0 {
		for i := range one {
			one[i].xs = append([]float64{0}, one[i].xs...)
			one[i].ys = append([]float64{z[i].ys[0]}, one[i].ys...)
		}
	}
	fit, err := costFit(x, rssY, heapY, r.Metrics)
	if err != nil {
		return nil, err
	}
	var ls []lineSeries
	for _, k := range []int{10, 1} {
		if l := lines[k]; l != nil {
			ls = append(ls, l[0], l[1])
		}
	}
	if err := lineChart(e.out, "configsize.png", "weft memory vs static clusters (median)", "clusters", "MiB", false, false, ls); err != nil {
		return nil, err
	}
	r.Sections = []section{
		{Heading: "Cost per cluster and per endpoint (linear fit)", Table: fit,
			Text: "KB are 1000 bytes, as in Envoy's bound. The heap fit is the figure to hold beside Envoy's (its test counts allocated memory); RSS adds the Go runtime's headroom (GOGC=100 lets the heap grow to twice the live heap between collections)."},
		{Heading: "Points", Table: t, Plots: []string{"configsize.png"}},
	}
	configSizeTargets(r, e.configPoints())
	r.Method = []string{
		fmt.Sprintf("Per repetition: start one weft (`--concurrency 2`) per point one after another, each on a bootstrap of STATIC clusters named `outbound|9080||svc-N.default.svc.cluster.local` with E loopback endpoints (never connected to: no health checks, no listeners, no traffic); wait %s after the last is ready; read VmRSS from /proc and `allocated` (Go HeapAlloc) from the admin `/memory`.", settle),
		"The full run waits past two minutes because the Go runtime forces a collection after two idle minutes, so the heap figure is the live heap, not garbage left from parsing the bootstrap.",
		"Points: " + fmt.Sprint(e.configPoints()) + " as {clusters endpoints-per-cluster}.",
	}
	r.Notes = []string{"This is static config, not xDS: a config pushed over ADS also keeps the decoded resources and their versions, so the xDS form may cost more. The Sidecar-scoping variant needs the control plane."}
	return r, nil
}

func configSizeTargets(r *report, pts []cfgPoint) {
	m := r.Metrics
	c, ep := get(m, "per_cluster_kb/Go heap"), get(m, "per_endpoint_kb/Go heap")
	cr, er := get(m, "per_cluster_kb/RSS"), get(m, "per_endpoint_kb/RSS")
	r.Targets = []targetRow{
		{"≤ 10 KB per cluster (Envoy's CI: ~42 KB)", fmt.Sprintf("%.2f KB heap, %.2f KB RSS", c, cr), verdict(c <= 10, fmt.Sprintf("by %.2f KB of heap", c-10))},
		{"≤ 0.5 KB per endpoint (Envoy's CI: ~1.3 KB)", fmt.Sprintf("%.3f KB heap, %.3f KB RSS", ep, er), verdict(ep <= 0.5, fmt.Sprintf("by %.3f KB of heap", ep-0.5))},
	}
	r.Headline = fmt.Sprintf("Static config: %.1f KB of Go heap per cluster and %.2f KB per endpoint (Envoy's bound: 42 KB and 1.3 KB)", c, ep)
	if big := largest(pts); big.Clusters > 0 {
		key := fmt.Sprintf("%dx%d", big.Clusters, big.Endpoints)
		r.Headline += fmt.Sprintf("; %d clusters × %d endpoints: %.0f MiB RSS, %.0f MiB heap",
			big.Clusters, big.Endpoints, get(m, "rss_mib/"+key), get(m, "heap_mib/"+key))
	}
	r.Headline += "."
}

// largest is the point with the most endpoints.
func largest(pts []cfgPoint) cfgPoint {
	var big cfgPoint
	for _, p := range pts {
		if p.total() > big.total() {
			big = p
		}
	}
	return big
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// costFit fits memory = base + a·clusters + b·endpoints for RSS and for the Go heap,
// records the costs in metrics and tabulates them beside Envoy's bound and the target.
func costFit(x [][]float64, rssY, heapY []float64, metrics map[string]float64) (*table, error) {
	fit := &table{Header: []string{"figure", "base MiB", "per cluster KB", "per endpoint KB"}}
	for _, f := range []struct {
		name string
		y    []float64
	}{{"RSS", rssY}, {"Go heap", heapY}} {
		b, err := fitLinear(x, f.y)
		if err != nil {
			return nil, fmt.Errorf("fit %s: %w", f.name, err)
		}
		fit.add(f.name, mib(b[0]), fmt.Sprintf("%.2f", b[1]/1000), fmt.Sprintf("%.3f", b[2]/1000))
		metrics["per_cluster_kb/"+f.name] = b[1] / 1000
		metrics["per_endpoint_kb/"+f.name] = b[2] / 1000
	}
	fit.add("Envoy's CI bound", "", fmt.Sprintf("%.0f", envoyPerCluster/1000), fmt.Sprintf("%.1f", envoyPerEndpoint/1000))
	fit.add("issue 6 target", "", fmt.Sprintf("%.0f", targetPerCluster/1000), fmt.Sprintf("%.1f", targetPerEndpt/1000))
	return fit, nil
}
