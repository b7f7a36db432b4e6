package main

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// cpTimeout bounds how long one push may take to settle: at 2000 clients and 1000
// services on two loaded cores a push takes minutes.
const cpTimeout = 15 * time.Minute

// cpServerStat is what weft control's /metrics say about its pushes.
type cpServerStat struct {
	sent      float64  // responses sent: pilot_xds_pushes without the error types
	converged float64  // connection pushes finished: pilot_proxy_convergence_time_count
	errs      []string // generation errors
}

func cpServer(port int) (cpServerStat, error) {
	var s cpServerStat
	resp, err := http.Get("http://" + addr(port) + "/metrics")
	if err != nil {
		return s, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("/metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(strings.TrimSpace(sc.Text()), " ")
		if !ok || strings.HasPrefix(name, "#") {
			continue
		}
		v, _ := strconv.ParseFloat(val, 64)
		switch {
		case name == "pilot_proxy_convergence_time_count":
			s.converged = v
		case strings.HasPrefix(name, "pilot_xds_pushes{") && strings.HasSuffix(name, `senderr"}`):
			// A send to a stream that ended: its client connects again.
		case strings.HasPrefix(name, "pilot_xds_pushes{") && strings.HasSuffix(name, `err"}`):
			s.errs = append(s.errs, sc.Text())
		case strings.HasPrefix(name, "pilot_xds_pushes{"):
			s.sent += v
		}
	}
	return s, sc.Err()
}

// settle waits until every client holds config of every type, the server has finished
// at least converged connection pushes (a stream that ended after the fleet had
// dropped streams counts as one: its push never finishes), and the clients have received (and ACKed)
// every response the server sent, unchanged on polls at least quiet apart (and two
// polls in any case: a subscription answered late would otherwise go unnoticed). It
// returns the state at the first of those polls.
func (w *cpWorld) settle(ctx context.Context, converged float64, quiet time.Duration, dropped int64) (cpServerStat, fleetStat, error) {
	start := time.Now()
	var prev *fleetStat
	var prevSrv cpServerStat
	var prevAt time.Time
	n := len(w.fleet.clients)
	for time.Since(start) < cpTimeout {
		srv, err := cpServer(w.cp.mon)
		if err != nil {
			return srv, fleetStat{}, err
		}
		fs := w.fleet.stat()
		if err := w.fleet.failed(); err != nil {
			return srv, fs, err
		}
		if err := w.cp.exited(); err != nil {
			return srv, fs, err
		}
		if len(srv.errs) > 0 {
			return srv, fs, fmt.Errorf("the control plane failed: %s", strings.Join(srv.errs, ", "))
		}
		switch {
		case fs.ready == n && srv.converged+float64(w.fleet.reconnects.Load()-dropped) >= converged && float64(fs.responses) == srv.sent:
			if prev != nil && prev.responses == fs.responses && prevSrv.converged == srv.converged {
				if time.Since(prevAt) >= quiet {
					return prevSrv, *prev, nil
				}
				break
			}
			prev, prevSrv, prevAt = &fs, srv, time.Now()
		default:
			prev = nil
		}
		// A poll costs the control plane a scrape: polls thin out as the wait grows.
		if err := sleepCtx(ctx, min(max(time.Since(start)/50, 10*time.Millisecond), 250*time.Millisecond)); err != nil {
			return srv, fs, err
		}
	}
	fs := w.fleet.stat()
	return cpServerStat{}, fs, fmt.Errorf("not settled after %s: %d of %d clients ready, %d responses received: %s",
		cpTimeout, fs.ready, n, fs.responses, logTail(w.cp.log))
}

// procPeak is a process's peak resident set (VmHWM) in bytes, 0 if unknown.
func procPeak(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// cpPct are the percentiles of a set of latencies in milliseconds.
type cpPct struct {
	N   int     `json:"n"`
	P50 float64 `json:"p50"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

func latencyPct(xs []float64) cpPct {
	if len(xs) == 0 {
		return cpPct{} // N = 0 says there is nothing; NaN would not go into JSON
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	at := func(q float64) float64 { return s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)] }
	return cpPct{N: len(s), P50: at(0.5), P99: at(0.99), Max: s[len(s)-1]}
}
