package main

import (
	"context"
	"fmt"
	"sort"
	"time"
)

// cpChurnRate is how many WorkloadEntries come or go per second during churn: pods of
// a rolling deployment, as issue 6 asks.
const cpChurnRate = 40.0

// cpChurn is what the churn variant measured at one point.
type cpChurn struct {
	Rate   float64 `json:"changes_per_second"`
	Secs   float64 `json:"seconds"`
	Events int     `json:"changes"`
	// Affected is how many clients see the churn service; Observed how many (change,
	// client) pairs were seen, of Events × Affected: a client that gets its next push
	// after an endpoint has come and gone never sees either.
	Affected int   `json:"clients_affected"`
	Observed int   `json:"observed"`
	Pct      cpPct `json:"latency_ms"`
	// CPU is the control plane's CPU from the churn's start until it settled; Cores
	// that divided by the same time.
	CPU     float64 `json:"cpu_seconds"`
	Cores   float64 `json:"cores"`
	Bytes   int64   `json:"bytes"`
	Settle  float64 `json:"seconds_to_settle_after"`
	Timelog []cpChurnEvent
}

// cpChurnEvent is one change: when it happened in the churn, and how long its slowest
// client took to see it.
type cpChurnEvent struct {
	At    float64 `json:"at_seconds"`
	Added bool    `json:"added"`
	Seen  int     `json:"clients"`
	Max   float64 `json:"max_ms"`
}

// churn adds and removes the churn service's WorkloadEntries in turn, cpChurnRate a
// second, then waits until the control plane has settled, and times every change at
// every client that sees the service.
func (w *cpWorld) churn(ctx context.Context, t *churnTracker) (*cpChurn, error) {
	_, before, err := w.settle(ctx, 0, 0, 0)
	if err != nil {
		return nil, err
	}
	dur := w.e.dur(20*time.Second, 2*time.Second)
	fmt.Printf("     churn: %.0f WorkloadEntries a second for %s\n", cpChurnRate, dur)
	cpu0, _ := procCPU(w.cp.pid())
	start := time.Now()
	events := 0
	for time.Since(start) < dur {
		op := w.addWorkload
		if events%2 == 1 {
			op = w.removeWorkload
		}
		if err := op(t); err != nil {
			return nil, err
		}
		events++
		next := start.Add(time.Duration(float64(events) / cpChurnRate * float64(time.Second)))
		if err := sleepCtx(ctx, time.Until(next)); err != nil {
			return nil, err
		}
	}
	secs := time.Since(start).Seconds()
	end := time.Now()
	if err := sleepCtx(ctx, cpDebounce); err != nil {
		return nil, err
	}
	_, after, err := w.settle(ctx, 0, time.Second, 0)
	if err != nil {
		return nil, err
	}
	cpu1, _ := procCPU(w.cp.pid())
	c := &cpChurn{Rate: float64(events) / secs, Secs: secs, Events: events, Affected: w.affected(),
		CPU: (cpu1 - cpu0).Seconds(), Bytes: after.bytes - before.bytes, Settle: time.Since(end).Seconds()}
	c.Cores = c.CPU / (secs + c.Settle)
	var lats []float64
	t.mu.Lock()
	for k, e := range t.events {
		ev := cpChurnEvent{At: e.at.Sub(start).Seconds(), Added: k.added, Seen: len(e.lats)}
		for _, l := range e.lats {
			ms := float64(l) / float64(time.Millisecond)
			lats = append(lats, ms)
			ev.Max = max(ev.Max, ms)
		}
		if ev.At >= 0 {
			c.Timelog = append(c.Timelog, ev)
		}
	}
	t.mu.Unlock()
	sort.Slice(c.Timelog, func(i, j int) bool { return c.Timelog[i].At < c.Timelog[j].At })
	c.Observed, c.Pct = len(lats), latencyPct(lats)
	fmt.Printf("     churn: %d changes, %d of %d seen, p50 %.0f ms, p99 %.0f ms, %.2f cores\n",
		events, c.Observed, events*c.Affected, c.Pct.P50, c.Pct.P99, c.Cores)
	return c, nil
}

// affected is how many clients see the churn service: all, or with Sidecars those in
// its namespace.
func (w *cpWorld) affected() int {
	if !w.pt.Scoped {
		return len(w.fleet.clients)
	}
	n := 0
	for i := range w.fleet.clients {
		if meshNamespace(i) == cpChurnNS {
			n++
		}
	}
	return n
}
