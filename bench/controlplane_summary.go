package main

import (
	"fmt"
	"strings"
)

// cpTarget is the point issue 6's targets name (1000 services, 2000 proxies), or the
// largest unscoped point of a quick grid.
func cpTarget(runs []*cpRun) *cpRun {
	var t *cpRun
	for _, r := range runs {
		p := r.Point
		if p.Scoped {
			continue
		}
		if t == nil || p.Services > t.Point.Services || p.Services == t.Point.Services && p.Clients > t.Point.Clients {
			t = r
		}
	}
	return t
}

func cpTargets(r *report, runs []*cpRun) {
	t := cpTarget(runs)
	p, m := t.Point, t.Memory
	at := fmt.Sprintf("%d services, %d clients", p.Services, p.Clients)
	r.Targets = []targetRow{{
		Target:   "1000 services and 2000 proxies in ≤ 0.5 GB (istiod: 1.5 GB)",
		Measured: fmt.Sprintf("%s: %.0f MB RSS (%.0f MiB), peak %.0f MB, Go heap %.0f MB", at, m.RSS/1e6, m.RSS/(1<<20), m.Peak/1e6, m.Heap/1e6),
		Verdict:  verdict(m.RSS <= targetControlRSS, fmt.Sprintf("by %.0f MB", (m.RSS-targetControlRSS)/1e6)),
	}}
	after := map[string]float64{}
	for _, kind := range []string{changeRoute, changeEndpoint} {
		a := aggregate(t, kind)
		after[kind] = a.pct.P99 - float64(cpDebounce.Milliseconds())
		r.Targets = append(r.Targets, targetRow{
			Target: fmt.Sprintf("convergence p99 ≤ %.0f ms after the debounce (%s change)", targetConvergeMs, kind),
			Measured: fmt.Sprintf("%s: p99 %.0f ms after the %d ms debounce (%.0f ms from the file change; p50 %.0f ms), %.1f CPU-s and %.1f MB per push",
				at, after[kind], cpDebounce.Milliseconds(), a.pct.P99, a.pct.P50, a.cpu, a.mb),
			Verdict: verdict(after[kind] <= targetConvergeMs, fmt.Sprintf("by %.0f ms", after[kind]-targetConvergeMs)),
		})
	}
	if c := t.Churn; c != nil {
		r.Targets = append(r.Targets, targetRow{
			Target: "convergence under endpoint churn at 40/s (issue 6 sets no target; the debounce and the watcher's batching included)",
			Measured: fmt.Sprintf("%s: p99 %.0f ms, p50 %.0f ms from the file change, %d of %d changes seen by the clients, %.2f cores",
				at, c.Pct.P99, c.Pct.P50, c.Observed, c.Events*c.Affected, c.Cores),
			Verdict: "no target",
		})
	}
	r.Headline = fmt.Sprintf("At %s, `weft control` holds %.0f MB RSS (peak %.0f MB; target 500 MB, istiod 1.5 GB); "+
		"a route change reaches every client in p99 %.0f ms after the debounce (target 200), an endpoint change in %.0f ms",
		at, m.RSS/1e6, m.Peak/1e6, after[changeRoute], after[changeEndpoint])
	if c := t.Churn; c != nil {
		r.Headline += fmt.Sprintf("; under churn at 40/s, p99 %.0f ms from the file change at %.2f cores", c.Pct.P99, c.Cores)
	}
	r.Headline += "."
}

func cpMethod(e *env) []string {
	var pts []string
	for _, p := range e.cpPoints() {
		s := fmt.Sprintf("%d×%d", p.Clients, p.Services)
		if p.Scoped {
			s += " scoped"
		}
		if p.Churn {
			s += " +churn"
		}
		pts = append(pts, s)
	}
	return []string{
		fmt.Sprintf("Per point, a config directory: M ServiceEntries (`resolution: STATIC`, `location: MESH_INTERNAL`, HTTP port %d, hosts `svc-J.ns-K.svc.cluster.local` over %d namespaces, %d endpoints each, a file per namespace); "+
			"a VirtualService for svc-0 (one route with a timeout); a ServiceEntry `%s` with a workload selector and %d WorkloadEntries, a file each; "+
			"for the scoped points, a Sidecar `default` in every namespace with `egress: [{hosts: [./*]}]`.", meshPort, meshNamespaces, cpEndpoints, cpChurnHost, cpChurnPool),
		"`weft control --config-dir DIR` starts and is timed until its `/metrics` count the services (`pilot_services`). Then N clients connect, 100 at a time, " +
			"each with node id `sidecar~10.1.X.Y~client-I.ns-K~ns-K.svc.cluster.local` and Istio's metadata (NAMESPACE ns-(I mod 10)); they subscribe to CDS and LDS (wildcard), " +
			"to EDS for every EDS cluster and to RDS for every route table the listeners name, and ACK each response at once. They decode only names (and the churn service's endpoints).",
		"Settled: every client holds config of all four types, the control plane has finished one more push per connection than before the change (`pilot_proxy_convergence_time_count`), " +
			"and the clients have received as many responses as the control plane sent (`pilot_xds_pushes`), the same on two polls in a row.",
		fmt.Sprintf("Per repetition (%d), a route change (the VirtualService rewritten with a new timeout) and an endpoint change (one more WorkloadEntry), each written as a temporary file renamed into place, each waited for until settled. "+
			"Latencies are pooled over the repetitions before their percentiles are taken. CPU is utime+stime of `weft control` from /proc/PID/stat across the push.", e.reps),
		"Memory: VmRSS and VmHWM from /proc/PID/status after the changes; the Go heap from the control plane's `/metrics`.",
		"Points (clients×services): " + strings.Join(pts, ", ") + ".",
	}
}

func cpPlots(e *env, runs []*cpRun) error {
	byServices := func(y func(*cpRun) float64, name func(services int) string) []lineSeries {
		var out []lineSeries
		idx := map[int]int{}
		for _, r := range runs {
			p := r.Point
			if p.Scoped {
				continue
			}
			i, ok := idx[p.Services]
			if !ok {
				i = len(out)
				idx[p.Services] = i
				out = append(out, lineSeries{name: name(p.Services)})
			}
			out[i].xs, out[i].ys = append(out[i].xs, float64(p.Clients)), append(out[i].ys, y(r))
		}
		return out
	}
	var mem, conv, cpu []lineSeries
	mem = append(byServices(func(r *cpRun) float64 { return r.Memory.RSS / (1 << 20) }, func(s int) string { return fmt.Sprintf("RSS, %d services", s) }),
		byServices(func(r *cpRun) float64 { return r.Memory.Peak / (1 << 20) }, func(s int) string { return fmt.Sprintf("peak RSS, %d services", s) })...)
	for _, kind := range []string{changeRoute, changeEndpoint} {
		conv = append(conv, byServices(func(r *cpRun) float64 { return aggregate(r, kind).pct.P99 },
			func(s int) string { return fmt.Sprintf("%s change, %d services", kind, s) })...)
		cpu = append(cpu, byServices(func(r *cpRun) float64 { return aggregate(r, kind).cpu },
			func(s int) string { return fmt.Sprintf("%s change, %d services", kind, s) })...)
	}
	if err := lineChart(e.out, "controlplane-memory.png", "weft control memory vs clients (no Sidecar scoping)", "clients", "MiB", false, false, mem); err != nil {
		return err
	}
	if err := lineChart(e.out, "controlplane-convergence.png", "file change to every client's ACK, p99 (debounce 200 ms included)", "clients", "ms", false, true, conv); err != nil {
		return err
	}
	if err := lineChart(e.out, "controlplane-cpu.png", "weft control CPU per push", "clients", "CPU seconds", false, false, cpu); err != nil {
		return err
	}
	var churn []lineSeries
	for _, r := range runs {
		if r.Churn == nil {
			continue
		}
		l := lineSeries{name: fmt.Sprintf("%d clients × %d services, %s", r.Point.Clients, r.Point.Services, scopeCell(r.Point))}
		for _, ev := range r.Churn.Timelog {
			if ev.Seen > 0 {
				l.xs, l.ys = append(l.xs, ev.At), append(l.ys, ev.Max)
			}
		}
		churn = append(churn, l)
	}
	if len(churn) == 0 {
		return nil
	}
	return lineChart(e.out, "controlplane-churn.png", "endpoint churn at 40/s: each change's slowest client", "seconds into the churn", "ms", false, true, churn)
}
