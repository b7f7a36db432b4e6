package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"
)

// A scenario is one benchmark from issue 6. run measures and returns the report;
// needs, when set, says why the scenario cannot run yet.
type scenario struct {
	name    string
	summary string
	run     func(ctx context.Context, e *env) (*report, error)
	needs   error
}

// scenarios are in the order of issue 6.
var scenarios = []scenario{
	{name: "latency", summary: "1: latency per hop, fortio 1000 qps, 1/16/64 connections", run: runLatency},
	{name: "throughput", summary: "2: requests per second on one pinned core, vs nginx and haproxy", run: runThroughput},
	{name: "resources", summary: "3: CPU seconds per 1000 requests and RSS at 1000 rps", run: runResources},
	{name: "spread", summary: "4: qps and p50/p90 as connections grow 2 -> 1024, concurrency 2 and 4", run: runSpread},
	{name: "http2", summary: "5: HTTP/2 with h2load and unary gRPC with ghz, vs nginx", run: runHTTP2},
	{name: "configsize", summary: "6 (static): memory vs clusters x endpoints in a bootstrap file", run: runConfigSize},
	{name: "profile", summary: "CPU and allocation profiles of one weft hop at full load (issue 6's note)", run: runProfile},
	{name: "xds-memory", summary: "6: memory vs config size over xDS, with Sidecar scoping, and the control plane's", run: runXDSMemory},
	{name: "controlplane", summary: "7: control plane at scale: N ADS clients × M services, convergence, RSS, CPU, bytes, churn", run: runControlPlane},
}

func selectScenarios(names []string) ([]scenario, error) {
	var sel []scenario
	for _, n := range names {
		if n == "all" {
			sel = append(sel, scenarios...)
			continue
		}
		found := false
		for _, s := range scenarios {
			if s.name == n {
				sel = append(sel, s)
				found = true
			}
		}
		if !found {
			return nil, fmt.Errorf("unknown scenario %q (run with -h for the list)", n)
		}
	}
	return sel, nil
}

// runScenarios builds weft once and runs each scenario in turn, writing its report.
// A scenario that fails does not stop the others; the errors are joined.
func runScenarios(ctx context.Context, o options, sel []scenario) error {
	if len(sel) == 1 && sel[0].needs != nil {
		return fmt.Errorf("%s: %w", sel[0].name, sel[0].needs)
	}
	e, err := newEnv(ctx, o)
	if err != nil {
		return err
	}
	defer e.close()
	var errs []error
	for _, s := range sel {
		if s.needs != nil {
			fmt.Printf("== %s: not run: %v\n", s.name, s.needs)
			continue
		}
		if err := e.runOne(ctx, s); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", s.name, err))
			fmt.Printf("== %s: failed: %v\n", s.name, err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	if err := writeIndex(e.out); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (e *env) runOne(ctx context.Context, s scenario) error {
	e.machine = readMachine() // the load average of this scenario's start
	fmt.Printf("== %s (%s)\nmachine: %s\n", s.name, s.summary, e.machine)
	start := time.Now()
	r, err := s.run(ctx, e)
	e.stopAll()
	if err != nil {
		return err
	}
	r.Scenario = s.name
	r.Started = start
	r.Elapsed = time.Since(start).Round(time.Second).String()
	r.Quick = e.quick
	r.Reps = e.reps
	r.Machine = e.machine
	r.Machine.LoadEnd = loadAvg()
	r.Tools = e.versions()
	if err := r.write(e.out); err != nil {
		return err
	}
	fmt.Printf("== %s: wrote %s (%s)\n", s.name, filepath.Join(e.out, s.name+".md"), r.Elapsed)
	return nil
}

// raiseNoFile lifts the open-file limit to its hard limit; an explicit Setrlimit is
// inherited by the processes the harness starts (1024 connections need it).
func raiseNoFile() {
	var l syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l) == nil && l.Cur < l.Max {
		l.Cur = l.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l)
	}
}

// repoRoot walks up from the working directory to the directory holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("go.mod not found above the working directory: run from the weft repository")
		}
		dir = parent
	}
}
