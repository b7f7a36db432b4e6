package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// load is one fortio run: a URL at a rate (0: as fast as it goes) over a number of
// keep-alive connections, from a load generator optionally pinned to cpus.
type load struct {
	url   string
	qps   int
	conns int
	dur   time.Duration
	cpus  string
}

// result is what one load run measured. Latencies are in milliseconds.
type result struct {
	QPS    float64            `json:"qps"`
	Count  int64              `json:"count"`
	Errors int64              `json:"errors"`
	Pct    map[string]float64 `json:"percentiles_ms"`
	Mean   float64            `json:"mean_ms"`
	// ErrKinds counts errors by message, where the tool says (ghz).
	ErrKinds map[string]int64 `json:"error_kinds,omitempty"`
}

// percentiles are the ones every latency table shows.
var percentiles = []string{"50", "90", "99", "99.9"}

var runSeq atomic.Int64

// fortio runs one load and parses fortio's JSON.
func (e *env) fortio(ctx context.Context, l load) (result, error) {
	bin, err := e.tool(ctx, "fortio")
	if err != nil {
		return result{}, err
	}
	out := filepath.Join(e.work, fmt.Sprintf("fortio-%d.json", runSeq.Add(1)))
	args := []string{"load", "-qps", strconv.Itoa(l.qps), "-c", strconv.Itoa(l.conns),
		"-t", l.dur.String(), "-r", "0.00001", "-p", strings.Join(percentiles, ","),
		"-json", out, "-quiet", "-timeout", "10s", l.url}
	cmdArgs := args
	name := bin
	if l.cpus != "" {
		ts, err := e.tool(ctx, "taskset")
		if err != nil {
			return result{}, err
		}
		name, cmdArgs = ts, append([]string{"-c", l.cpus, bin}, args...)
	}
	if err := runQuiet(exec.CommandContext(ctx, name, cmdArgs...)); err != nil {
		return result{}, fmt.Errorf("fortio: %w", err)
	}
	return parseFortio(out)
}

type fortioJSON struct {
	ActualQPS         float64
	RetCodes          map[string]int64
	DurationHistogram struct {
		Count       int64
		Avg         float64
		Percentiles []struct {
			Percentile float64
			Value      float64
		}
	}
}

func parseFortio(path string) (result, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return result{}, fmt.Errorf("fortio result: %w", err)
	}
	var j fortioJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return result{}, fmt.Errorf("fortio result %s: %w", path, err)
	}
	r := result{QPS: j.ActualQPS, Count: j.DurationHistogram.Count, Mean: j.DurationHistogram.Avg * 1e3, Pct: map[string]float64{}}
	for code, n := range j.RetCodes {
		if code != "200" {
			r.Errors += n
		}
	}
	for _, p := range j.DurationHistogram.Percentiles {
		r.Pct[strconv.FormatFloat(p.Percentile, 'f', -1, 64)] = p.Value * 1e3
	}
	if r.Count == 0 || r.Errors == r.Count {
		return r, fmt.Errorf("fortio: no successful request (%d of %d failed, codes %v)", r.Errors, r.Count, j.RetCodes)
	}
	return r, nil
}
