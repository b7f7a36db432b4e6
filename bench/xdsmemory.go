package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"
)

// Roles of the processes xds-memory measures.
const (
	roleFull    = "sidecar"
	roleScoped  = "sidecar scoped by a Sidecar"
	roleControl = "control plane"
)

// scopedEndpoints picks the points where a scoped sidecar runs beside the unscoped one.
const scopedEndpoints = 10

// xdsRun is the memory of one process at one config size once it had settled.
type xdsRun struct {
	Point cfgPoint `json:"point"`
	Role  string   `json:"role"`
	// Clusters and Endpoints are the outbound clusters and endpoints a sidecar held.
	Clusters  int `json:"outbound_clusters"`
	Endpoints int `json:"endpoints"`
	// Secs is, for a sidecar, from its start until it held its whole config; for the
	// control plane, from its start until it served every service.
	Secs float64 `json:"seconds_to_settled"`
	memReading
}

// heapProfile is where the heap of the sidecar holding the largest config goes.
type heapProfile struct {
	Point cfgPoint `json:"point"`
	Flat  string   `json:"flat"`
	Cum   string   `json:"cum"`
}

// xdsMemory runs the scenario; ips hands out the sidecars' loopback addresses.
type xdsMemory struct {
	e   *env
	ips int
}

// runXDSMemory is scenario 6 over xDS: per config size, weft control on a directory
// of ServiceEntries and two weft sidecars on it, one seeing every service and one
// scoped by a Sidecar to ten; their memory is read once each has settled and then
// collected garbage.
func runXDSMemory(ctx context.Context, e *env) (*report, error) {
	x := &xdsMemory{e: e}
	var runs []*xdsRun
	var prof *heapProfile
	for rep := range e.reps {
		var targets []*memTarget
		for i, pt := range e.configPoints() {
			fmt.Printf("   rep %d/%d: %d services × %d endpoints\n", rep+1, e.reps, pt.Clusters, pt.Endpoints)
			rs, ts, err := x.world(ctx, fmt.Sprintf("xds-r%d-%d", rep, i), pt)
			if err != nil {
				return nil, fmt.Errorf("%d services × %d endpoints: %w", pt.Clusters, pt.Endpoints, err)
			}
			runs, targets = append(runs, rs...), append(targets, ts...)
		}
		var profiled *proc
		if rep == e.reps-1 {
			p, t, err := x.profiled(ctx, largest(e.configPoints()))
			if err != nil {
				return nil, fmt.Errorf("profiled sidecar: %w", err)
			}
			profiled, targets = p, append(targets, t)
		}
		wait := e.dur(6*time.Minute, 2*time.Second)
		fmt.Printf("   reading each process after its first garbage collection since it settled (at most %s)\n", wait)
		if err := readAfterGC(ctx, targets, wait); err != nil {
			return nil, err
		}
		if profiled != nil {
			var err error
			if prof, err = x.heapTop(ctx, profiled, largest(e.configPoints())); err != nil {
				return nil, err
			}
		}
		e.stopAll()
	}
	return xdsMemoryReport(e, runs, prof)
}

// world starts the control plane for pt and its sidecars one after another, each
// timed until it has settled, and returns the runs to fill and their memory targets.
func (x *xdsMemory) world(ctx context.Context, name string, pt cfgPoint) ([]*xdsRun, []*memTarget, error) {
	dir, err := x.e.dir(name)
	if err != nil {
		return nil, nil, err
	}
	if err := writeMesh(dir, pt); err != nil {
		return nil, nil, err
	}
	start := time.Now()
	cp, err := x.e.startControl(ctx, name+"-control", dir, pt.Clusters)
	if err != nil {
		return nil, nil, err
	}
	control := &xdsRun{Point: pt, Role: roleControl, Secs: time.Since(start).Seconds()}
	var runs []*xdsRun
	var targets []*memTarget
	scopes := []bool{false}
	if pt.Endpoints == scopedEndpoints {
		scopes = append(scopes, true)
	}
	for _, scoped := range scopes {
		r, p, err := x.sidecar(ctx, name, cp, pt, scoped, nil)
		if err != nil {
			return nil, nil, err
		}
		runs = append(runs, r)
		targets = append(targets, newMemTarget(p, func() (float64, error) { return goHeap(p.admin) }, &r.memReading))
	}
	runs = append(runs, control)
	targets = append(targets, newMemTarget(cp.proc, cp.heap, &control.memReading))
	return runs, targets, nil
}

// sidecar starts one sidecar on cp and waits until it holds its whole config.
func (x *xdsMemory) sidecar(ctx context.Context, world string, cp *controlPlane, pt cfgPoint, scoped bool, environ []string) (*xdsRun, *proc, error) {
	// A GODEBUG in environ comes last and wins (os/exec keeps the last of a key).
	o := sidecarOpts{ip: x.nextIP(), app: appFull, environ: append([]string{gcTrace}, environ...)}
	role, name := roleFull, world+"-sidecar"
	if scoped {
		o.app, role, name = appScoped, roleScoped, world+"-scoped"
	}
	clusters, endpoints := sidecarWants(pt, scoped)
	start := time.Now()
	p, err := x.e.startSidecar(ctx, name, cp, o)
	if err != nil {
		return nil, nil, err
	}
	at, err := waitSettled(ctx, p, clusters, endpoints)
	if err != nil {
		return nil, nil, err
	}
	r := &xdsRun{Point: pt, Role: role, Clusters: clusters, Endpoints: endpoints, Secs: at.Sub(start).Seconds()}
	return r, p, nil
}

// nextIP hands out 127.0.1.1, 127.0.1.2, ...: each sidecar's HTTP proxy listens on
// port 15001 of an address of its own.
func (x *xdsMemory) nextIP() string {
	n := x.ips
	x.ips++
	return fmt.Sprintf("127.0.%d.%d", 1+n/250, n%250+1)
}

// profiled starts a control plane of its own and one unscoped sidecar at pt that
// samples heap allocations every 4 KiB (the default is 512 KiB), for a heap profile
// fine enough to name the costs. It is not one of the measured sidecars: its profile
// buckets cost memory outside the heap. It is read after its second collection since
// it settled: a heap profile's in-use figures lag a collection behind (they count only
// what was allocated before the previous one).
func (x *xdsMemory) profiled(ctx context.Context, pt cfgPoint) (*proc, *memTarget, error) {
	name := "xds-profile"
	dir, err := x.e.dir(name)
	if err != nil {
		return nil, nil, err
	}
	if err := writeMesh(dir, pt); err != nil {
		return nil, nil, err
	}
	cp, err := x.e.startControl(ctx, name+"-control", dir, pt.Clusters)
	if err != nil {
		return nil, nil, err
	}
	fmt.Printf("   profiled sidecar: %d services × %d endpoints\n", pt.Clusters, pt.Endpoints)
	_, p, err := x.sidecar(ctx, name, cp, pt, false, []string{"GODEBUG=gctrace=1,memprofilerate=4096"})
	if err != nil {
		return nil, nil, err
	}
	t := newMemTarget(p, func() (float64, error) { return goHeap(p.admin) }, &memReading{})
	t.need = 2
	return p, t, nil
}

// heapTop takes the profiled sidecar's /heap_dump and lists its top allocation sites.
func (x *xdsMemory) heapTop(ctx context.Context, p *proc, pt cfgPoint) (*heapProfile, error) {
	file := filepath.Join(x.e.work, "xds-sidecar.heap")
	if err := adminGet(p.admin, "/heap_dump", file); err != nil {
		return nil, err
	}
	flat, err := x.e.pprof(ctx, "-top", "-nodecount=20", "-sample_index=inuse_space", file)
	if err != nil {
		return nil, err
	}
	cum, err := x.e.pprof(ctx, "-top", "-cum", "-nodecount=30", "-sample_index=inuse_space", file)
	if err != nil {
		return nil, err
	}
	return &heapProfile{Point: pt, Flat: flat, Cum: cum}, nil
}
