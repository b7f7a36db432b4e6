package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// cpPoint is one control plane under test: clients simulated sidecars over services
// services, with or without a Sidecar scoping each namespace to itself.
type cpPoint struct {
	Clients  int  `json:"clients"`
	Services int  `json:"services"`
	Scoped   bool `json:"scoped"`
	Churn    bool `json:"churn"`
}

func (p cpPoint) key() string {
	s := fmt.Sprintf("%dx%d", p.Clients, p.Services)
	if p.Scoped {
		s += "/scoped"
	}
	return s
}

// Change kinds.
const (
	changeRoute    = "route"    // the VirtualService's timeout: an RDS push to every client that sees svc-0
	changeEndpoint = "endpoint" // a WorkloadEntry added to the churn service: an EDS push
)

// cpDebounce is the quiet time before a file change reaches the clients: the config
// directory's watcher waits 100 ms for the directory to settle, then the ADS server
// waits 100 ms for its events to settle (istiod's PILOT_DEBOUNCE_AFTER).
const cpDebounce = 200 * time.Millisecond

// cpPoints is the grid: every unscoped point, scoped points at the largest client
// count, and churn at the most services.
func (e *env) cpPoints() []cpPoint {
	clients, services := []int{100, 1000, 2000}, []int{100, 1000}
	if e.quick {
		clients, services = []int{10, 20}, []int{10}
	}
	top, most := clients[len(clients)-1], services[len(services)-1]
	var pts []cpPoint
	for _, s := range services {
		for _, c := range clients {
			pts = append(pts, cpPoint{Clients: c, Services: s, Churn: s == most && (c == clients[0] || c == top)})
		}
		pts = append(pts, cpPoint{Clients: top, Services: s, Scoped: true, Churn: s == most})
	}
	return pts
}

// cpRun is what one point measured.
type cpRun struct {
	Point cpPoint `json:"point"`
	// ConnectSecs is from starting the clients until every one held config of every
	// type and had ACKed everything sent; InitialBytes what they received meanwhile.
	ConnectSecs   float64 `json:"connect_seconds"`
	ConnectCPU    float64 `json:"connect_cpu_seconds"`
	InitialBytes  int64   `json:"initial_bytes"`
	Memory        cpMem   `json:"memory"`
	Changes       []*cpChange
	Churn         *cpChurn `json:"churn,omitempty"`
	ServedService int      `json:"services_served"`
	// Dropped counts the streams the server ended over the point; LastDrop says why
	// the last one ended, as the client saw it.
	Dropped  int64  `json:"streams_dropped"`
	LastDrop string `json:"last_drop,omitempty"`
}

// cpMem is the control plane's memory once every client is connected and the changes
// have settled, and its peak resident set over the point.
type cpMem struct {
	RSS  float64 `json:"rss_bytes"`
	Peak float64 `json:"peak_rss_bytes"`
	Heap float64 `json:"go_heap_bytes"`
}

// cpChange is one change and its push to the clients.
type cpChange struct {
	Kind string `json:"kind"`
	// Lats are, per client that received anything, from the file change to its last
	// ACK, in milliseconds; the JSON keeps their percentiles.
	Lats      []float64 `json:"-"`
	Pct       cpPct     `json:"latency_ms"`
	CPU       float64   `json:"cpu_seconds"`
	Bytes     int64     `json:"bytes"`
	Responses int64     `json:"responses"`
	// Dropped counts the clients' streams the server ended during the push; those
	// clients connected again and count from their new stream's last ACK.
	Dropped int64 `json:"streams_dropped"`
}

// runControlPlane is scenario 7: per point, weft control on a config directory and N
// simulated sidecars on it; a route change and an endpoint change, repeated; and,
// where the point says, WorkloadEntries coming and going at 40 a second.
func runControlPlane(ctx context.Context, e *env) (*report, error) {
	var runs []*cpRun
	for i, pt := range e.cpPoints() {
		scope := ""
		if pt.Scoped {
			scope = ", scoped by Sidecars"
		}
		fmt.Printf("   %d clients × %d services%s\n", pt.Clients, pt.Services, scope)
		r, err := e.cpWorld(ctx, fmt.Sprintf("cp-%d", i), pt)
		e.stopAll()
		if err != nil {
			return nil, fmt.Errorf("%d clients × %d services: %w", pt.Clients, pt.Services, err)
		}
		runs = append(runs, r)
	}
	return cpReport(e, runs)
}

// cpWorld is one point's control plane, clients and config directory.
type cpWorld struct {
	e      *env
	pt     cpPoint
	dir    string
	cp     *controlPlane
	fleet  *adsFleet
	lo, hi int // the churn service's WorkloadEntries lo ... hi-1 exist
}

func (e *env) cpWorld(ctx context.Context, name string, pt cpPoint) (*cpRun, error) {
	dir, err := e.dir(name)
	if err != nil {
		return nil, err
	}
	if err := writeCPMesh(dir, pt.Services, pt.Scoped); err != nil {
		return nil, err
	}
	cp, err := e.startControl(ctx, name+"-control", dir, pt.Services+1)
	if err != nil {
		return nil, err
	}
	w := &cpWorld{e: e, pt: pt, dir: dir, cp: cp, hi: cpChurnPool}
	r := &cpRun{Point: pt, ServedService: pt.Services + 1}
	var churn *churnTracker
	if pt.Churn {
		churn = newChurnTracker()
	}
	cpu0, _ := procCPU(cp.pid())
	start := time.Now()
	w.fleet = startFleet(ctx, addr(cp.xds), pt.Clients, churn)
	defer w.fleet.close()
	_, fs, err := w.settle(ctx, 0, 0, 0)
	if err != nil {
		return nil, fmt.Errorf("initial sync: %w", err)
	}
	cpu1, _ := procCPU(cp.pid())
	r.ConnectSecs, r.ConnectCPU, r.InitialBytes = time.Since(start).Seconds(), (cpu1 - cpu0).Seconds(), fs.bytes
	fmt.Printf("     connected in %.1f s (%.1f CPU-s, %.1f MB)\n", r.ConnectSecs, r.ConnectCPU, float64(fs.bytes)/1e6)
	for rep := range e.reps {
		c, err := w.measure(ctx, changeRoute, func() error { return writeAtomic(dir, "vs", cpVirtualService(rep+2)) })
		if err != nil {
			return nil, fmt.Errorf("route change: %w", err)
		}
		r.Changes = append(r.Changes, c)
		c, err = w.measure(ctx, changeEndpoint, func() error { return w.addWorkload(nil) })
		if err != nil {
			return nil, fmt.Errorf("endpoint change: %w", err)
		}
		r.Changes = append(r.Changes, c)
	}
	if pt.Churn {
		if r.Churn, err = w.churn(ctx, churn); err != nil {
			return nil, fmt.Errorf("churn: %w", err)
		}
	}
	if r.Memory, err = w.memory(); err != nil {
		return nil, err
	}
	if r.Dropped = w.fleet.reconnects.Load(); r.Dropped > 0 {
		r.LastDrop, _ = w.fleet.lastDrop.Load().(string)
	}
	return r, nil
}

// addWorkload writes the next WorkloadEntry of the churn service.
func (w *cpWorld) addWorkload(t *churnTracker) error {
	k := w.hi
	w.hi++
	if t != nil {
		t.changed(cpWorkloadIP(k), true, time.Now())
	}
	return writeAtomic(w.dir, cpWorkloadName(k), cpWorkloadEntry(k))
}

// removeWorkload removes the churn service's oldest WorkloadEntry.
func (w *cpWorld) removeWorkload(t *churnTracker) error {
	k := w.lo
	w.lo++
	if t != nil {
		t.changed(cpWorkloadIP(k), false, time.Now())
	}
	return os.Remove(filepath.Join(w.dir, cpWorkloadName(k)+".yaml"))
}

func (w *cpWorld) memory() (cpMem, error) {
	m, err := procMem(w.cp.pid())
	if err != nil {
		return cpMem{}, err
	}
	heap, err := w.cp.heap()
	if err != nil {
		return cpMem{}, err
	}
	return cpMem{RSS: float64(m.rss), Peak: float64(procPeak(w.cp.pid())), Heap: heap}, nil
}

// measure makes one change and times its push: per client that received anything,
// from the change to its last ACK once the push has settled.
func (w *cpWorld) measure(ctx context.Context, kind string, change func() error) (*cpChange, error) {
	srv, before, err := w.settle(ctx, 0, 0, 0)
	if err != nil {
		return nil, err
	}
	counts := make([]int64, len(w.fleet.clients))
	for i, c := range w.fleet.clients {
		counts[i] = c.responses.Load()
	}
	drops := w.fleet.reconnects.Load()
	cpu0, _ := procCPU(w.cp.pid())
	start := time.Now()
	if err := change(); err != nil {
		return nil, err
	}
	// Every connection finishes one push; nothing happens before the debounce ends.
	if err := sleepCtx(ctx, cpDebounce); err != nil {
		return nil, err
	}
	_, after, err := w.settle(ctx, srv.converged+float64(len(w.fleet.clients)), 0, drops)
	if err != nil {
		return nil, err
	}
	cpu1, _ := procCPU(w.cp.pid())
	c := &cpChange{Kind: kind, CPU: (cpu1 - cpu0).Seconds(), Bytes: after.bytes - before.bytes,
		Responses: after.responses - before.responses, Dropped: w.fleet.reconnects.Load() - drops}
	for i, cl := range w.fleet.clients {
		if cl.responses.Load() > counts[i] {
			c.Lats = append(c.Lats, float64(time.Unix(0, cl.lastAck.Load()).Sub(start))/float64(time.Millisecond))
		}
	}
	c.Pct = latencyPct(c.Lats)
	fmt.Printf("     %s change: %d clients, p50 %.0f ms, p99 %.0f ms, %.2f CPU-s, %.1f MB, %d streams dropped\n",
		kind, c.Pct.N, c.Pct.P50, c.Pct.P99, c.CPU, float64(c.Bytes)/1e6, c.Dropped)
	return c, nil
}
