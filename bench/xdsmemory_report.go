package main

import (
	"fmt"
	"strconv"
	"strings"
)

// xdsMedian is the median of one process's repetitions at one point.
type xdsMedian struct {
	mem  memReading
	secs float64
}

// xdsMedians are the medians by role and point.
type xdsMedians map[string]map[cfgPoint]xdsMedian

func mediansByRole(runs []*xdsRun) xdsMedians {
	type acc struct {
		rs   []memReading
		secs []float64
	}
	accs := map[string]map[cfgPoint]*acc{}
	for _, r := range runs {
		if accs[r.Role] == nil {
			accs[r.Role] = map[cfgPoint]*acc{}
		}
		a := accs[r.Role][r.Point]
		if a == nil {
			a = &acc{}
			accs[r.Role][r.Point] = a
		}
		a.rs, a.secs = append(a.rs, r.memReading), append(a.secs, r.Secs)
	}
	med := xdsMedians{}
	for role, byPt := range accs {
		med[role] = map[cfgPoint]xdsMedian{}
		for pt, a := range byPt {
			med[role][pt] = xdsMedian{mem: medianReading(a.rs), secs: median(a.secs)}
		}
	}
	return med
}

// roleKeys name the roles in metrics.
var roleKeys = map[string]string{roleFull: "sidecar", roleScoped: "scoped", roleControl: "control"}

func xdsMemoryReport(e *env, runs []*xdsRun, prof *heapProfile) (*report, error) {
	r := &report{
		Title: "Memory vs config size over xDS, with Sidecar scoping",
		Intro: "Scenario 6 of issue 6 over xDS: `weft control` reads N services × E endpoints as ServiceEntries from its config directory, " +
			"and a `weft proxy --xds` sidecar takes them over ADS (clusters, EDS endpoints, listeners and routes, as Istio generates them). " +
			"Resident memory and the Go heap are read once the sidecar holds every cluster and endpoint and has then collected garbage; " +
			"the cost per cluster and per endpoint comes from a least-squares fit of memory = base + a·clusters + b·endpoints over all points. " +
			"A second sidecar, scoped by a `Sidecar` resource to 10 services, shows what scoping saves, and the control plane's own memory is what a user pays besides.",
		Metrics: map[string]float64{},
		Raw: struct {
			Runs        []*xdsRun    `json:"runs"`
			HeapProfile *heapProfile `json:"heap_profile,omitempty"`
		}{runs, prof},
	}
	pts := e.configPoints()
	med := mediansByRole(runs)
	for role, byPt := range med {
		for pt, m := range byPt {
			key := roleKeys[role] + "/" + pointKey(pt)
			r.Metrics["rss_mib/"+key] = m.mem.RSS / (1 << 20)
			r.Metrics["heap_mib/"+key] = m.mem.Heap / (1 << 20)
			r.Metrics["seconds/"+key] = m.secs
		}
	}
	fit, cfit, err := xdsFits(pts, med, r.Metrics)
	if err != nil {
		return nil, err
	}
	scoped, err := scopedSection(pts, med, r.Metrics)
	if err != nil {
		return nil, err
	}
	if err := xdsPlots(e, pts, med); err != nil {
		return nil, err
	}
	r.Sections = []section{
		{Heading: "Cost per cluster and per endpoint over xDS (linear fit, no Sidecar)", Table: fit,
			Text: "KB are 1000 bytes, as in Envoy's bound, which counts allocated memory: the Go heap is the figure to hold beside it. " +
				"A cluster here is a whole service as a sidecar sees it: its CDS cluster, its EDS assignment and its virtual host in the route table. " +
				"The sidecar runs with deferred stats (`weft proxy --xds` sets `deferred_stat_options`), as Envoy's bound does not; " +
				"[configsize](configsize.md) shows static config both ways. RSS adds the Go runtime's headroom (GOGC=100) and the binary's pages."},
		{Heading: "Sidecar, every service in scope", Table: sidecarTable(pts, med), Plots: []string{"xds-memory.png"}},
		scoped,
		{Heading: "Control plane (linear fit)", Table: cfit,
			Text: "`weft control` holding the mesh and serving the sidecars of its point (one unscoped, plus one scoped where E = 10), read like the sidecars."},
		{Heading: "Control plane, points", Table: controlTable(pts, med), Plots: []string{"xds-memory-control.png"}},
	}
	r.Sections = append(r.Sections, heapSections(prof, r.Metrics)...)
	xdsTargets(r, pts, prof)
	r.Method = xdsMethod(pts)
	if n := notReadAfterGC(readings(runs)); n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d of %d readings were taken before the process had collected garbage after it settled (the wait ran out): their heap figures include garbage.", n, len(runs)))
	}
	r.Notes = append(r.Notes,
		"The sidecars run without capture (`INTERCEPTION_MODE: NONE`, as `weft up --mode host` runs them): their one listener is an HTTP proxy on the node's own loopback address with one route table of every service, so that several sidecars run side by side on one host. A sidecar with capture holds the same clusters and endpoints, a route table per port instead of the one, and the virtual listeners on 15001 and 15006, which bind wildcard addresses and so allow one such sidecar per host.",
		"The endpoints are addresses nothing listens on: no health checks, no connections, no traffic. Memory that appears with traffic (connection pools, traffic stats of used clusters) is in [resources](resources.md).")
	return r, nil
}

// xdsFits fits the sidecar's and the control plane's memory over every point.
func xdsFits(pts []cfgPoint, med xdsMedians, metrics map[string]float64) (fit, cfit *table, err error) {
	var x [][]float64
	var rss, anon, heap, crss, canon, cheap []float64
	for _, pt := range pts {
		x = append(x, []float64{float64(pt.Clusters), float64(pt.total())})
		s, c := med[roleFull][pt].mem, med[roleControl][pt].mem
		rss, anon, heap = append(rss, s.RSS), append(anon, s.Anon), append(heap, s.Heap)
		crss, canon, cheap = append(crss, c.RSS), append(canon, c.Anon), append(cheap, c.Heap)
	}
	fit = &table{Header: []string{"figure", "base MiB", "per cluster KB", "per endpoint KB"}}
	if err := costFit(fit, nil, x, []fitSeries{{"RSS", rss}, {"anonymous RSS", anon}, {"Go heap", heap}}, metrics, "sidecar/"); err != nil {
		return nil, nil, err
	}
	boundRows(fit, 0)
	cfit = &table{Header: []string{"figure", "base MiB", "per service KB", "per endpoint KB"}}
	if err := costFit(cfit, nil, x, []fitSeries{{"RSS", crss}, {"anonymous RSS", canon}, {"Go heap", cheap}}, metrics, "control/"); err != nil {
		return nil, nil, err
	}
	return fit, cfit, nil
}

func sidecarTable(pts []cfgPoint, med xdsMedians) *table {
	t := &table{Header: []string{"services", "endpoints each", "endpoints", "seconds to settled", "RSS MiB", "anonymous MiB", "file MiB", "Go heap MiB"}}
	for _, pt := range pts {
		m := med[roleFull][pt]
		t.add(strconv.Itoa(pt.Clusters), eachCell(pt), strconv.Itoa(pt.total()), fmt.Sprintf("%.2f", m.secs),
			mib(m.mem.RSS), mib(m.mem.Anon), mib(m.mem.File), mib(m.mem.Heap))
	}
	return t
}

func controlTable(pts []cfgPoint, med xdsMedians) *table {
	t := &table{Header: []string{"services", "endpoints each", "endpoints", "seconds to serving", "RSS MiB", "anonymous MiB", "Go heap MiB"}}
	for _, pt := range pts {
		m := med[roleControl][pt]
		t.add(strconv.Itoa(pt.Clusters), eachCell(pt), strconv.Itoa(pt.total()), fmt.Sprintf("%.2f", m.secs),
			mib(m.mem.RSS), mib(m.mem.Anon), mib(m.mem.Heap))
	}
	return t
}

func eachCell(pt cfgPoint) string {
	if pt.Clusters == 0 {
		return "-"
	}
	return strconv.Itoa(pt.Endpoints)
}

// scopedPoints are the points where a scoped sidecar ran, by services.
func scopedPoints(pts []cfgPoint) []cfgPoint {
	var out []cfgPoint
	for _, pt := range pts {
		if pt.Endpoints == scopedEndpoints {
			out = append(out, pt)
		}
	}
	return out
}

// scopedSection sets the scoped sidecar beside the unscoped one and fits what it pays
// per service outside its scope, over the points with at least its scope's services.
func scopedSection(pts []cfgPoint, med xdsMedians, metrics map[string]float64) (section, error) {
	t := &table{Header: []string{"services", "clusters held", "seconds to settled", "RSS MiB", "Go heap MiB", "unscoped RSS MiB", "unscoped heap MiB", "heap scoped / unscoped"}}
	var x [][]float64
	var rss, heap []float64
	for _, pt := range scopedPoints(pts) {
		s, u := med[roleScoped][pt], med[roleFull][pt]
		clusters, _ := sidecarWants(pt, true)
		t.add(strconv.Itoa(pt.Clusters), strconv.Itoa(clusters), fmt.Sprintf("%.2f", s.secs), mib(s.mem.RSS), mib(s.mem.Heap),
			mib(u.mem.RSS), mib(u.mem.Heap), ratio(s.mem.Heap/u.mem.Heap))
		if pt.Clusters >= meshScope {
			x = append(x, []float64{float64(pt.Clusters)})
			rss, heap = append(rss, s.mem.RSS), append(heap, s.mem.Heap)
		}
	}
	text := fmt.Sprintf("A second sidecar in the same namespace, labelled `app: %s`, is selected by a `Sidecar` whose egress admits %d services "+
		"(`hosts: [\"%s\", ...]`); the control plane sends it only those. Its memory should stay flat as the mesh grows.", appScoped, meshScope, meshNamespace(0)+"/"+meshHost(0))
	for _, s := range []fitSeries{{"RSS", rss}, {"Go heap", heap}} {
		b, err := fitLinear(x, s.y)
		if err != nil {
			return section{}, fmt.Errorf("fit scoped %s: %w", s.name, err)
		}
		metrics["scoped_kb_per_service/"+s.name] = b[1] / 1000
	}
	text += fmt.Sprintf(" Fitted over the points with %d services or more, it pays %.3f KB of heap (%.3f KB of RSS) per service outside its scope.",
		meshScope, get(metrics, "scoped_kb_per_service/Go heap"), get(metrics, "scoped_kb_per_service/RSS"))
	return section{Heading: "With a Sidecar scoping to 10 services", Text: text, Table: t, Plots: []string{"xds-memory-scoped.png"}}, nil
}

func xdsPlots(e *env, pts []cfgPoint, med xdsMedians) error {
	mem := func(role string, f func(memReading) float64) func(cfgPoint) float64 {
		return func(pt cfgPoint) float64 { return f(med[role][pt].mem) / (1 << 20) }
	}
	rssOf := func(m memReading) float64 { return m.RSS }
	heapOf := func(m memReading) float64 { return m.Heap }
	named := func(what string) func(int) string {
		return func(eps int) string { return fmt.Sprintf("%s, %s per service", what, plural(eps, "endpoint")) }
	}
	var side, control []lineSeries
	for _, f := range []struct {
		name string
		of   func(memReading) float64
	}{{"RSS", rssOf}, {"Go heap", heapOf}} {
		side = append(side, linesByEndpoints(pts, named(f.name), mem(roleFull, f.of))...)
		control = append(control, linesByEndpoints(pts, named(f.name), mem(roleControl, f.of))...)
	}
	if err := lineChart(e.out, "xds-memory.png", "weft sidecar memory vs services over xDS (median)", "services", "MiB", false, false, side); err != nil {
		return err
	}
	if err := lineChart(e.out, "xds-memory-control.png", "weft control memory vs services (median)", "services", "MiB", false, false, control); err != nil {
		return err
	}
	sp := scopedPoints(pts)
	var scoped []lineSeries
	for _, s := range []struct {
		name string
		role string
		of   func(memReading) float64
	}{{"RSS, every service", roleFull, rssOf}, {"RSS, scoped to 10", roleScoped, rssOf},
		{"Go heap, every service", roleFull, heapOf}, {"Go heap, scoped to 10", roleScoped, heapOf}} {
		l := lineSeries{name: s.name}
		for _, pt := range sp {
			l.xs, l.ys = append(l.xs, float64(pt.Clusters)), append(l.ys, mem(s.role, s.of)(pt))
		}
		scoped = append(scoped, l)
	}
	title := fmt.Sprintf("weft sidecar memory with and without Sidecar scoping, %d endpoints per service (median)", scopedEndpoints)
	return lineChart(e.out, "xds-memory-scoped.png", title, "services in the mesh", "MiB", false, false, scoped)
}

// heapSections show where the heap of the sidecar holding the largest config goes.
func heapSections(prof *heapProfile, metrics map[string]float64) []section {
	if prof == nil {
		return nil
	}
	total, _ := pprofTotal(prof.Flat)
	metrics["profile_inuse_mib"] = total / (1 << 20)
	h := fmt.Sprintf("Where the sidecar's heap goes at %d services × %d endpoints", prof.Point.Clusters, prof.Point.Endpoints)
	text := fmt.Sprintf("`go tool pprof -sample_index=inuse_space -top` on the `/heap_dump` of an unscoped sidecar run for this purpose "+
		"(allocations sampled every 4 KiB, not the default 512 KiB; taken after its second collection since it settled, as a heap profile counts only what was allocated before the previous collection): %.1f MiB in use. "+
		"The largest allocation sites: %s.", total/(1<<20), strings.Join(topSites(prof.Flat, 6), ", "))
	return []section{
		{Heading: h, Text: text + "\n\n" + fence(prof.Flat)},
		{Heading: h + ", cumulative (who holds it)", Text: fence(prof.Cum)},
	}
}

// topSites are the first n entries of a pprof -top listing with their flat share.
func topSites(out string, n int) []string {
	var sites []string
	started := false
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) > 0 && f[0] == "flat" {
			started = true
			continue
		}
		if started && len(f) >= 6 && len(sites) < n {
			name := strings.TrimPrefix(strings.Join(f[5:], " "), "github.com/weftmesh/weft/internal/")
			sites = append(sites, fmt.Sprintf("`%s` %s", name, f[1]))
		}
	}
	return sites
}

func xdsTargets(r *report, pts []cfgPoint, prof *heapProfile) {
	m := r.Metrics
	c, ep := get(m, "per_cluster_kb/sidecar/Go heap"), get(m, "per_endpoint_kb/sidecar/Go heap")
	cr, er := get(m, "per_cluster_kb/sidecar/RSS"), get(m, "per_endpoint_kb/sidecar/RSS")
	r.Targets = []targetRow{
		{"≤ 10 KB per cluster (Envoy's CI: ~42 KB)", fmt.Sprintf("%.2f KB heap, %.2f KB RSS", c, cr), verdict(c <= 10, fmt.Sprintf("by %.2f KB of heap", c-10))},
		{"≤ 0.5 KB per endpoint (Envoy's CI: ~1.3 KB)", fmt.Sprintf("%.3f KB heap, %.3f KB RSS", ep, er), verdict(ep <= 0.5, fmt.Sprintf("by %.3f KB of heap", ep-0.5))},
	}
	big := largest(pts)
	key := pointKey(big)
	r.Headline = fmt.Sprintf("Over xDS a sidecar's Go heap grows %.1f KB per cluster and %.2f KB per endpoint (target 10 and 0.5, Envoy's bound 42 and 1.3); "+
		"%d services × %d endpoints: %.0f MiB RSS, %.0f MiB heap, settled %.1f s after start; scoped to 10 services by a Sidecar: %.0f MiB RSS, %.0f MiB heap; "+
		"control plane %.0f MiB RSS",
		c, ep, big.Clusters, big.Endpoints, get(m, "rss_mib/sidecar/"+key), get(m, "heap_mib/sidecar/"+key), get(m, "seconds/sidecar/"+key),
		get(m, "rss_mib/scoped/"+key), get(m, "heap_mib/scoped/"+key), get(m, "rss_mib/control/"+key))
	r.Headline += "."
	if prof != nil && (c > 10 || ep > 0.5) {
		r.Headline += " Largest heap costs: " + strings.Join(topSites(prof.Flat, 3), ", ") + "."
	}
}

func xdsMethod(pts []cfgPoint) []string {
	return []string{
		fmt.Sprintf("Per point, a config directory of N ServiceEntries (`resolution: STATIC`, `location: MESH_INTERNAL`, one HTTP port %d, hosts `svc-J.ns-K.svc.cluster.local` over %d namespaces, E endpoints each at distinct 10.x addresses) and a `Sidecar` in %s selecting `app: %s`.", meshPort, meshNamespaces, clientNS, appScoped),
		"Per repetition and point, one after another: start `weft control --config-dir DIR` and time it until its `/metrics` counts N services (`pilot_services`); start the unscoped sidecar (`weft proxy --xds ... --node-id sidecar~127.0.1.X~... --metadata NAMESPACE=ns-0 --metadata INTERCEPTION_MODE=NONE --label app=client --concurrency 2`) and time it until settled; then the scoped one (`--label app=" + appScoped + "`) where E = 10.",
		"Settled: the admin `/stats` show CDS, LDS and RDS accepted, no cluster warming, the listener active, and exactly the expected outbound clusters whose `membership_total` add up to the expected endpoints. Nothing is polled after that.",
		"Then every process is read once its log (`GODEBUG=gctrace=1`) shows a garbage collection that began after it settled: VmRSS, RssAnon and RssFile from /proc, `allocated` (Go HeapAlloc) from the sidecar's admin `/memory`, `go_memstats_heap_alloc_bytes` from the control plane's `/metrics`. An idle Go process collects at the latest two minutes after its previous collection, so the heap figure is the live heap.",
		"Points: " + fmt.Sprint(pts) + " as {services endpoints-per-service}; the scoped sidecar runs where E = 10.",
	}
}

func readings(runs []*xdsRun) []memReading {
	rs := make([]memReading, len(runs))
	for i, r := range runs {
		rs[i] = r.memReading
	}
	return rs
}
