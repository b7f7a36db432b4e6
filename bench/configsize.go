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
	RSS       float64  `json:"rss_bytes"`
	Anon      float64  `json:"rss_anon_bytes"`
	Heap      float64  `json:"go_heap_bytes"`
	StartSecs float64  `json:"seconds_to_ready"`
}

// configPoints vary clusters at 10 and at 1 endpoint each, so that the cost per
// cluster and per endpoint can be told apart by a linear fit.
func (e *env) configPoints() []cfgPoint {
	if e.quick {
		return []cfgPoint{{0, 10}, {50, 10}, {200, 10}, {50, 1}, {200, 1}}
	}
	return []cfgPoint{{0, 10}, {100, 10}, {1000, 10}, {5000, 10}, {100, 1}, {1000, 1}, {5000, 1}}
}

// runConfigSize is scenario 6 in its static form: weft is given N clusters × E
// endpoints in a bootstrap file (not over xDS: the control plane does not exist yet),
// and its RSS and Go heap are read once the config has settled.
func runConfigSize(ctx context.Context, e *env) (*report, error) {
	// Go forces a garbage collection after two idle minutes; waiting past that
	// makes the heap figure the live heap rather than parse garbage.
	settle := e.dur(130*time.Second, 3*time.Second)
	var runs []cfgRun
	for rep := range e.reps {
		var procs []*proc
		var started []cfgRun
		for i, pt := range e.configPoints() {
			fmt.Printf("   rep %d/%d: %d clusters × %d endpoints\n", rep+1, e.reps, pt.Clusters, pt.Endpoints)
			p, secs, err := e.startSized(ctx, fmt.Sprintf("config-r%d-%d", rep, i), pt)
			if err != nil {
				return nil, fmt.Errorf("%d clusters × %d endpoints: %w", pt.Clusters, pt.Endpoints, err)
			}
			procs = append(procs, p)
			started = append(started, cfgRun{Point: pt, StartSecs: secs})
		}
		fmt.Printf("   settling %s\n", settle)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(settle):
		}
		for i, p := range procs {
			m, err := procMem(p.pid())
			if err != nil {
				return nil, fmt.Errorf("%s: %w", p.name, err)
			}
			heap, err := goHeap(p.admin)
			if err != nil {
				return nil, fmt.Errorf("%s /memory: %w", p.name, err)
			}
			started[i].RSS, started[i].Anon, started[i].Heap = float64(m.rss), float64(m.anon), heap
			p.stop()
		}
		runs = append(runs, started...)
	}
	return configSizeReport(e, runs, settle)
}

// startSized writes a bootstrap of the given size, starts weft on it and times how
// long it takes to report ready.
func (e *env) startSized(ctx context.Context, name string, pt cfgPoint) (*proc, float64, error) {
	dir, err := e.dir(name)
	if err != nil {
		return nil, 0, err
	}
	admin, err := freePort()
	if err != nil {
		return nil, 0, err
	}
	cfg := filepath.Join(dir, "bootstrap.yaml")
	if err := os.WriteFile(cfg, []byte(sizedBootstrap(admin, pt)), 0o644); err != nil {
		return nil, 0, fmt.Errorf("bootstrap: %w", err)
	}
	start := time.Now()
	p, err := e.runWeft(ctx, name, "", cfg, admin, 2)
	return p, time.Since(start).Seconds(), err
}

// sizedBootstrap is clusters only, named as Istio names outbound clusters, with
// loopback endpoints that nothing ever connects to (no health checks, no traffic).
func sizedBootstrap(admin int, pt cfgPoint) string {
	var b strings.Builder
	fmt.Fprintf(&b, "admin:\n  address: {socket_address: {address: 127.0.0.1, port_value: %d}}\n", admin)
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
