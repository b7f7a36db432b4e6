package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// cfgPoint is one config size: clusters with endpoints each.
type cfgPoint struct {
	Clusters  int `json:"clusters"`
	Endpoints int `json:"endpoints_per_cluster"`
}

func (p cfgPoint) total() int { return p.Clusters * p.Endpoints }

// cfgRun is what one weft held for one config size once it had settled.
type cfgRun struct {
	Point     cfgPoint `json:"point"`
	Deferred  bool     `json:"deferred_stats"`
	StartSecs float64  `json:"seconds_to_ready"`
	memReading
}

// configPoints vary clusters at 10 and at 1 endpoint each, so that the cost per
// cluster and per endpoint can be told apart by a linear fit.
func (e *env) configPoints() []cfgPoint {
	if e.quick {
		return []cfgPoint{{0, 10}, {50, 10}, {200, 10}, {50, 1}, {200, 1}}
	}
	return []cfgPoint{{0, 10}, {100, 10}, {1000, 10}, {5000, 10}, {100, 1}, {1000, 1}, {5000, 1}}
}

// statsMode names how a weft creates its clusters' traffic stats.
func statsMode(deferred bool) string {
	if deferred {
		return "deferred"
	}
	return "eager"
}

// runConfigSize is scenario 6 in its static form: weft is given N clusters × E
// endpoints in a bootstrap file, with eager and with deferred stats, and its RSS and
// Go heap are read once the config has settled and weft has collected garbage.
func runConfigSize(ctx context.Context, e *env) (*report, error) {
	var runs []*cfgRun
	for rep := range e.reps {
		var targets []*memTarget
		for i, pt := range e.configPoints() {
			for _, deferred := range []bool{false, true} {
				mode := statsMode(deferred)
				fmt.Printf("   rep %d/%d: %d clusters × %d endpoints, %s stats\n", rep+1, e.reps, pt.Clusters, pt.Endpoints, mode)
				p, secs, err := e.startSized(ctx, fmt.Sprintf("config-r%d-%d-%s", rep, i, mode), pt, deferred)
				if err != nil {
					return nil, fmt.Errorf("%d clusters × %d endpoints, %s stats: %w", pt.Clusters, pt.Endpoints, mode, err)
				}
				r := &cfgRun{Point: pt, Deferred: deferred, StartSecs: secs}
				runs = append(runs, r)
				targets = append(targets, newMemTarget(p, func() (float64, error) { return goHeap(p.admin) }, &r.memReading))
			}
		}
		wait := e.dur(4*time.Minute, 3*time.Second)
		fmt.Printf("   reading each weft after its first garbage collection since it was ready (at most %s)\n", wait)
		if err := readAfterGC(ctx, targets, wait); err != nil {
			return nil, err
		}
		e.stopAll()
	}
	return configSizeReport(e, runs)
}

// startSized writes a bootstrap of the given size, starts weft on it and times how
// long it takes to report ready.
func (e *env) startSized(ctx context.Context, name string, pt cfgPoint, deferred bool) (*proc, float64, error) {
	dir, err := e.dir(name)
	if err != nil {
		return nil, 0, err
	}
	admin, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	cfg := filepath.Join(dir, "bootstrap.yaml")
	if err := os.WriteFile(cfg, []byte(sizedBootstrap(admin, pt, deferred)), 0o644); err != nil {
		return nil, 0, fmt.Errorf("bootstrap: %w", err)
	}
	start := time.Now()
	p, err := e.runWeft(ctx, name, "", cfg, admin, 2, []string{gcTrace})
	return p, time.Since(start).Seconds(), err
}

// sizedBootstrap is clusters only, named as Istio names outbound clusters, with
// loopback endpoints that nothing ever connects to (no health checks, no traffic).
// deferred sets Envoy's deferred_stat_options, as weft proxy --xds does.
func sizedBootstrap(admin int, pt cfgPoint, deferred bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "admin:\n  address: {socket_address: {address: 127.0.0.1, port_value: %d}}\n", admin)
	if deferred {
		b.WriteString("deferred_stat_options: {enable_deferred_creation_stats: true}\n")
	}
	if pt.Clusters == 0 {
		b.WriteString("static_resources: {}\n")
		return b.String()
	}
	b.WriteString("static_resources:\n  clusters:")
	idx := 0
	for c := range pt.Clusters {
		eps := make([]string, pt.Endpoints)
		for j := range eps {
			eps[j] = fmt.Sprintf("127.%d.%d.%d:9080", 1+idx>>16, (idx>>8)&255, idx&255)
			idx++
		}
		b.WriteString(weftCluster(fmt.Sprintf(`"outbound|9080||svc-%d.default.svc.cluster.local"`, c), false, eps))
	}
	b.WriteString("\n")
	return b.String()
}
