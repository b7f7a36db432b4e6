package main

import (
	"fmt"
	"strconv"
)

// cfgMedian is the median of one point's repetitions in one stats mode.
type cfgMedian struct {
	mem  memReading
	secs float64
}

func configSizeReport(e *env, runs []*cfgRun) (*report, error) {
	r := &report{
		Title: "Memory vs config size (static bootstrap)",
		Intro: "Scenario 6 of issue 6 in its **static form**: weft is given N clusters × E endpoints in a bootstrap file " +
			"(`go run ./bench xds-memory` measures the same over xDS, with Sidecar scoping). Every point runs twice: with **eager** stats, " +
			"Envoy's default, where each cluster creates its traffic stats with it (what Envoy's CI bound counts), and with **deferred** stats " +
			"(`deferred_stat_options: {enable_deferred_creation_stats: true}`), where an idle cluster's traffic stats wait for its first request: " +
			"what `weft proxy --xds` sets, so what a sidecar pays. Resident memory and the Go heap are read once the config has settled and weft " +
			"has collected garbage; the cost per cluster and per endpoint comes from a least-squares fit of memory = base + a·clusters + b·endpoints over all points.",
		Metrics: map[string]float64{},
		Raw:     runs,
	}
	pts := e.configPoints()
	med := map[bool]map[cfgPoint]cfgMedian{}
	fit := &table{Header: []string{"stats", "figure", "base MiB", "per cluster KB", "per endpoint KB"}}
	for _, deferred := range []bool{false, true} {
		mode := statsMode(deferred)
		med[deferred] = map[cfgPoint]cfgMedian{}
		var x [][]float64
		var rss, anon, heap []float64
		for _, pt := range pts {
			var rs []memReading
			var secs []float64
			for _, run := range runs {
				if run.Point == pt && run.Deferred == deferred {
					rs, secs = append(rs, run.memReading), append(secs, run.StartSecs)
				}
			}
			m := cfgMedian{mem: medianReading(rs), secs: median(secs)}
			med[deferred][pt] = m
			x = append(x, []float64{float64(pt.Clusters), float64(pt.total())})
			rss, anon, heap = append(rss, m.mem.RSS), append(anon, m.mem.Anon), append(heap, m.mem.Heap)
			r.Metrics["rss_mib/"+mode+"/"+pointKey(pt)] = m.mem.RSS / (1 << 20)
			r.Metrics["heap_mib/"+mode+"/"+pointKey(pt)] = m.mem.Heap / (1 << 20)
		}
		series := []fitSeries{{"RSS", rss}, {"anonymous RSS", anon}, {"Go heap", heap}}
		if err := costFit(fit, []string{mode}, x, series, r.Metrics, mode+"/"); err != nil {
			return nil, err
		}
	}
	boundRows(fit, 1)
	if err := configSizePlots(e, pts, med); err != nil {
		return nil, err
	}
	r.Sections = []section{
		{Heading: "Cost per cluster and per endpoint (linear fit)", Table: fit,
			Text: "KB are 1000 bytes, as in Envoy's bound. The heap fit is the figure to hold beside Envoy's (its test counts allocated memory), " +
				"and eager stats are the fair comparison with it: Envoy's bound is measured with its default, eager stats. RSS adds the Go runtime's " +
				"headroom (GOGC=100 lets the heap grow to twice the live heap between collections) and the binary's pages (the rest of RSS beside the anonymous part)."},
		{Heading: "Points", Table: configSizeTable(pts, med), Plots: []string{"configsize.png", "configsize-rss.png"}},
	}
	configSizeTargets(r, pts)
	r.Method = []string{
		"Per repetition: start one weft (`--concurrency 2`) per point and stats mode one after another, each on a bootstrap of STATIC clusters named `outbound|9080||svc-N.default.svc.cluster.local` with E loopback endpoints (never connected to: no health checks, no listeners, no traffic), and time it until the admin `/ready` answers 200.",
		"Then read each weft once its log (it runs with `GODEBUG=gctrace=1`) shows a garbage collection that began after it was ready: VmRSS and RssAnon from /proc, and `allocated` (Go HeapAlloc) from the admin `/memory`. An idle weft collects at the latest two minutes after its previous collection (the Go runtime forces one), so the heap figure is the live heap, not garbage left from parsing the bootstrap.",
		"Points: " + fmt.Sprint(pts) + " as {clusters endpoints-per-cluster}.",
	}
	if n := notAfterGC(runs); n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d of %d readings were taken before the process had collected garbage after it was ready (the wait ran out): their heap figures include garbage.", n, len(runs)))
	}
	r.Notes = append(r.Notes, "This is static config. Over xDS a proxy also keeps what it needs to diff the next push; `xds-memory` measures that, with a control plane.")
	return r, nil
}

func configSizeTable(pts []cfgPoint, med map[bool]map[cfgPoint]cfgMedian) *table {
	t := &table{Header: []string{"clusters", "endpoints each", "endpoints", "stats", "seconds to ready", "RSS MiB", "anonymous MiB", "Go heap MiB"}}
	for _, pt := range pts {
		each := strconv.Itoa(pt.Endpoints)
		if pt.Clusters == 0 {
			each = "-"
		}
		for _, deferred := range []bool{false, true} {
			m := med[deferred][pt]
			t.add(strconv.Itoa(pt.Clusters), each, strconv.Itoa(pt.total()), statsMode(deferred),
				fmt.Sprintf("%.2f", m.secs), mib(m.mem.RSS), mib(m.mem.Anon), mib(m.mem.Heap))
		}
	}
	return t
}

func configSizePlots(e *env, pts []cfgPoint, med map[bool]map[cfgPoint]cfgMedian) error {
	var heap, rss []lineSeries
	for _, deferred := range []bool{true, false} {
		m := med[deferred]
		name := func(eps int) string {
			return fmt.Sprintf("%s stats, %s per cluster", statsMode(deferred), plural(eps, "endpoint"))
		}
		heap = append(heap, linesByEndpoints(pts, name, func(pt cfgPoint) float64 { return m[pt].mem.Heap / (1 << 20) })...)
		rss = append(rss, linesByEndpoints(pts, name, func(pt cfgPoint) float64 { return m[pt].mem.RSS / (1 << 20) })...)
	}
	if err := lineChart(e.out, "configsize.png", "weft Go heap vs static clusters (median)", "clusters", "MiB", false, false, heap); err != nil {
		return err
	}
	return lineChart(e.out, "configsize-rss.png", "weft RSS vs static clusters (median)", "clusters", "MiB", false, false, rss)
}

func configSizeTargets(r *report, pts []cfgPoint) {
	m := r.Metrics
	c, ep := get(m, "per_cluster_kb/deferred/Go heap"), get(m, "per_endpoint_kb/deferred/Go heap")
	ce, epe := get(m, "per_cluster_kb/eager/Go heap"), get(m, "per_endpoint_kb/eager/Go heap")
	r.Targets = []targetRow{
		{"≤ 10 KB per cluster (Envoy's CI: ~42 KB, eager stats)",
			fmt.Sprintf("%.2f KB heap with deferred stats (eager: %.2f KB)", c, ce), verdict(c <= 10, fmt.Sprintf("by %.2f KB of heap", c-10))},
		{"≤ 0.5 KB per endpoint (Envoy's CI: ~1.3 KB)",
			fmt.Sprintf("%.3f KB heap with deferred stats (eager: %.3f KB)", ep, epe), verdict(ep <= 0.5, fmt.Sprintf("by %.3f KB of heap", ep-0.5))},
	}
	r.Headline = fmt.Sprintf("Static config, Go heap per cluster and per endpoint: %.1f KB and %.2f KB with deferred stats, %.1f KB and %.2f KB with eager stats (Envoy's bound: 42 KB and 1.3 KB)",
		c, ep, ce, epe)
	if big := largest(pts); big.Clusters > 0 {
		key := pointKey(big)
		r.Headline += fmt.Sprintf("; %d clusters × %d endpoints, deferred: %.0f MiB RSS, %.0f MiB heap",
			big.Clusters, big.Endpoints, get(m, "rss_mib/deferred/"+key), get(m, "heap_mib/deferred/"+key))
	}
	r.Headline += "."
}

func notAfterGC(runs []*cfgRun) int {
	rs := make([]memReading, len(runs))
	for i, r := range runs {
		rs[i] = r.memReading
	}
	return notReadAfterGC(rs)
}
