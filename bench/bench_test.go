package main

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuick runs every scenario in --quick mode into a temporary directory and checks
// that each wrote its page, its plots and numbers. It asserts that the harness works,
// never that the numbers are good. It installs tools and loads the machine for a few
// minutes, so it runs only when asked: WEFT_BENCH_QUICK=1 go test -run TestQuick ./bench
// (make bench-quick).
func TestQuick(t *testing.T) {
	if os.Getenv("WEFT_BENCH_QUICK") == "" {
		t.Skip("set WEFT_BENCH_QUICK=1 to run the benchmark harness in quick mode")
	}
	out := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	if err := run(ctx, []string{"all", "--quick", "--out", out}); err != nil {
		t.Fatalf("bench all --quick: %v", err)
	}
	for _, s := range scenarios {
		t.Run(s.name, func(t *testing.T) {
			if s.needs != nil {
				return
			}
			r, err := readReport(filepath.Join(out, s.name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			checkReport(t, out, r)
		})
	}
	index, err := os.ReadFile(filepath.Join(out, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range scenarios {
		if !strings.Contains(string(index), "| "+s.name+" |") {
			t.Errorf("README.md does not list %s", s.name)
		}
	}
}

func checkReport(t *testing.T, out string, r *report) {
	t.Helper()
	if len(r.Metrics) == 0 {
		t.Fatal("no metrics")
	}
	for k, v := range r.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Errorf("metric %s = %v", k, v)
		}
	}
	if r.Machine.Cores == 0 || r.Machine.Load == "" {
		t.Errorf("machine not recorded: %+v", r.Machine)
	}
	md, err := os.ReadFile(filepath.Join(out, r.Scenario+".md"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(md), "NaN") {
		t.Errorf("%s.md shows NaN", r.Scenario)
	}
	plots := 0
	for _, s := range r.Sections {
		for _, p := range s.Plots {
			plots++
			if fi, err := os.Stat(filepath.Join(out, p)); err != nil || fi.Size() == 0 {
				t.Errorf("plot %s: %v", p, err)
			}
		}
	}
	if plots == 0 && r.Scenario != "profile" { // profile's page is pprof text
		t.Error("no plots")
	}
}

// TestSelect checks that every scenario of issue 6 runs and that an unknown one is an
// error.
func TestSelect(t *testing.T) {
	for _, s := range scenarios {
		if s.needs != nil || s.run == nil {
			t.Errorf("%s cannot run: %v", s.name, s.needs)
		}
	}
	if _, err := selectScenarios([]string{"nope"}); err == nil {
		t.Error("unknown scenario accepted")
	}
}
