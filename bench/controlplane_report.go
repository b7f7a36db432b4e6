package main

import (
	"fmt"
	"strconv"
	"time"
)

// Issue 6's control plane targets.
const (
	targetControlRSS = 500e6 // bytes: 0.5 GB at 1000 services and 2000 proxies
	targetConvergeMs = 200.0 // p99 after the debounce
)

// cpAgg is one kind of change at one point over the repetitions.
type cpAgg struct {
	pct                  cpPct // over every client of every repetition
	cpu, mb, resp, reach float64
}

func aggregate(r *cpRun, kind string) cpAgg {
	var lats, cpu, mb, resp, reach []float64
	for _, c := range r.Changes {
		if c.Kind != kind {
			continue
		}
		lats = append(lats, c.Lats...)
		cpu, mb = append(cpu, c.CPU), append(mb, float64(c.Bytes)/1e6)
		resp, reach = append(resp, float64(c.Responses)), append(reach, float64(c.Pct.N))
	}
	return cpAgg{pct: latencyPct(lats), cpu: median(cpu), mb: median(mb), resp: median(resp), reach: median(reach)}
}

func scopeCell(p cpPoint) string {
	if p.Scoped {
		return "Sidecar per namespace"
	}
	return "none"
}

func cpReport(e *env, runs []*cpRun) (*report, error) {
	r := &report{
		Title: "Control plane at scale: convergence, memory, CPU and bytes pushed",
		Intro: "Scenario 7 of issue 6: `weft control` serves a config directory of M services (ServiceEntries, two endpoints each, over ten namespaces), " +
			"a VirtualService and a service whose endpoints are WorkloadEntries, to N simulated sidecars: state-of-the-world ADS clients in the harness's process, " +
			"each on its own gRPC connection, subscribing as Envoy does and ACKing every response. " +
			"A file in the directory changes; the time to each client's last ACK of the push that follows is the convergence time, " +
			"and the control plane's resident memory and CPU come from /proc. The churn variant adds and removes WorkloadEntries 40 times a second.",
		Metrics: map[string]float64{},
		Raw:     runs,
	}
	points, conv, churn := cpTables(runs, r.Metrics)
	if err := cpPlots(e, runs); err != nil {
		return nil, err
	}
	r.Sections = []section{
		{Heading: "Memory and the initial sync", Table: points, Plots: []string{"controlplane-memory.png"},
			Text: "RSS and the Go heap (`go_memstats_heap_alloc_bytes`, garbage included) of `weft control` once every client is connected and the changes below have settled; " +
				"the peak is VmHWM over the whole point, the initial sync of every client included. " +
				"RSS per client is the growth over the point with the fewest clients, at the same services."},
		{Heading: "Convergence after one change", Table: conv, Plots: []string{"controlplane-convergence.png", "controlplane-cpu.png"},
			Text: fmt.Sprintf("Per change, from the file's rename into the directory to each client's last ACK of the push, over every client the push reached and every repetition. "+
				"**route** rewrites the VirtualService of svc-0 (a new timeout): every client that sees svc-0 gets a new route table. "+
				"**endpoint** adds a WorkloadEntry to the churn service: its clients get a new assignment. "+
				"The debounce is %d ms: the config directory's watcher waits 100 ms for quiet before it reads, then the ADS server waits 100 ms (`PILOT_DEBOUNCE_AFTER`) before it pushes; "+
				"\"after debounce\" subtracts it. CPU and bytes are the medians per push; bytes are what the clients received (`proto.Size` of the responses).", cpDebounce.Milliseconds())},
	}
	if len(churn.Rows) > 0 {
		r.Sections = append(r.Sections, section{Heading: "Endpoint churn: WorkloadEntries coming and going at 40 a second", Table: churn,
			Plots: []string{"controlplane-churn.png"},
			Text: fmt.Sprintf("For %s, a WorkloadEntry file of the churn service is written, then its oldest one removed, in turn, 40 times a second (a pool of about %d endpoints, each living %.1f s). "+
				"Each change is timed at every client that sees the service, from the file change to the ACK of the first response that shows it; "+
				"a client whose next push comes after an endpoint came and went sees neither change, so fewer pairs are seen than expected when pushes lag. "+
				"Cores are the control plane's CPU from the churn's start until it settled, divided by that time.",
				e.dur(20*time.Second, 2*time.Second), cpChurnPool, 2*cpChurnPool/cpChurnRate)})
	}
	cpTargets(r, runs)
	r.Method = cpMethod(e)
	for _, run := range runs {
		if run.Dropped > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("At %d clients × %d services (%s), the control plane ended %d client streams (the last: `%s`); "+
				"each client connected again a second later, as Envoy does, and its convergence counts to the last ACK on its new stream.",
				run.Point.Clients, run.Point.Services, scopeCell(run.Point), run.Dropped, run.LastDrop))
		}
	}
	r.Notes = append(r.Notes,
		"The clients run in the harness's process on the same two cores as the control plane: their receiving and ACKing is in the convergence times, as an Envoy's would be on a loaded node, but not in the control plane's CPU and memory, which are its process's alone.",
		"A VirtualService change is a config event: every type is regenerated for every client (a full push), and only what changed is sent. "+
			"A WorkloadEntry change is an endpoint event of the ServiceEntry registry, as in Istio's ServiceEntry controller: only EDS is pushed.",
		"Where the control plane's time and memory go: [controlplane-profile.md](controlplane-profile.md), CPU and heap profiles from `go test -bench BenchmarkScale ./internal/control` (the same pipeline in process; `weft control` serves no /debug/pprof).",
		"Under churn, the config directory's watcher reads at most once a second while files keep changing (it waits for 100 ms of quiet, or 1 s after the first change of a burst): that, not the push, sets the floor of the churn latencies.")
	return r, nil
}

// cpTables are the tables of points, of single changes and of churn, with their figures
// recorded in metrics.
func cpTables(runs []*cpRun, metrics map[string]float64) (points, conv, churn *table) {
	points = &table{Header: []string{"clients", "services", "scoping", "connect s", "connect CPU s", "initial MB", "RSS MiB", "peak RSS MiB", "Go heap MiB", "RSS KiB per client", "streams dropped"}}
	conv = &table{Header: []string{"clients", "services", "scoping", "change", "clients reached", "p50 ms", "p99 ms", "p99 after debounce ms", "max ms", "CPU s per push", "MB pushed", "responses"}}
	churn = &table{Header: []string{"clients", "services", "scoping", "changes", "per s", "seen of expected", "p50 ms", "p99 ms", "max ms", "cores", "MB pushed", "settled s after"}}
	base := map[int]float64{} // RSS at the fewest clients, by services (unscoped)
	for _, run := range runs {
		p := run.Point
		if _, ok := base[p.Services]; !ok && !p.Scoped {
			base[p.Services] = run.Memory.RSS
		}
	}
	fewest := runs[0].Point.Clients
	for _, run := range runs {
		p, m := run.Point, run.Memory
		key := p.key()
		perClient := "-"
		if !p.Scoped && p.Clients > fewest {
			perClient = fmt.Sprintf("%.0f", (m.RSS-base[p.Services])/float64(p.Clients-fewest)/1024)
		}
		points.add(strconv.Itoa(p.Clients), strconv.Itoa(p.Services), scopeCell(p), fmt.Sprintf("%.1f", run.ConnectSecs),
			fmt.Sprintf("%.1f", run.ConnectCPU), fmt.Sprintf("%.1f", float64(run.InitialBytes)/1e6), mib(m.RSS), mib(m.Peak), mib(m.Heap), perClient, strconv.FormatInt(run.Dropped, 10))
		metrics["rss_mib/"+key] = m.RSS / (1 << 20)
		metrics["peak_rss_mib/"+key] = m.Peak / (1 << 20)
		metrics["heap_mib/"+key] = m.Heap / (1 << 20)
		metrics["connect_seconds/"+key] = run.ConnectSecs
		for _, kind := range []string{changeRoute, changeEndpoint} {
			a := aggregate(run, kind)
			conv.add(strconv.Itoa(p.Clients), strconv.Itoa(p.Services), scopeCell(p), kind, num(a.reach),
				num(a.pct.P50), num(a.pct.P99), num(a.pct.P99-cpDebounce.Seconds()*1000), num(a.pct.Max),
				fmt.Sprintf("%.2f", a.cpu), fmt.Sprintf("%.2f", a.mb), num(a.resp))
			metrics["p50_ms/"+kind+"/"+key] = a.pct.P50
			metrics["p99_ms/"+kind+"/"+key] = a.pct.P99
			metrics["cpu_seconds/"+kind+"/"+key] = a.cpu
			metrics["mb_pushed/"+kind+"/"+key] = a.mb
		}
		if c := run.Churn; c != nil {
			churn.add(strconv.Itoa(p.Clients), strconv.Itoa(p.Services), scopeCell(p), strconv.Itoa(c.Events), fmt.Sprintf("%.1f", c.Rate),
				fmt.Sprintf("%d of %d", c.Observed, c.Events*c.Affected), num(c.Pct.P50), num(c.Pct.P99), num(c.Pct.Max),
				fmt.Sprintf("%.2f", c.Cores), fmt.Sprintf("%.1f", float64(c.Bytes)/1e6), fmt.Sprintf("%.1f", c.Settle))
			metrics["churn_p99_ms/"+key] = c.Pct.P99
			metrics["churn_cores/"+key] = c.Cores
		}
	}
	return points, conv, churn
}
