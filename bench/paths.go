package main

import (
	"context"
	"fmt"
)

// A path is one way for the load to reach the origin: direct, or through one or
// two proxies. A baseline that could not start keeps its error and is reported
// as not measured.
type path struct {
	name  string
	port  int
	procs []*proc
	err   error
}

func (p path) url() string { return "http://" + addr(p.port) + "/" }

// Path names. weft2 is the mesh's shape: a client sidecar in front of a server sidecar.
const (
	pathDirect  = "direct"
	pathWeft    = "weft"
	pathWeft2   = "weft 2 hops"
	pathNginx   = "nginx"
	pathHAProxy = "haproxy"
)

// pathOpts are how the proxies of a path run.
type pathOpts struct {
	to      int    // the origin's port
	workers int    // weft --concurrency, nginx worker_processes, haproxy nbthread
	cpus    string // taskset list for the proxies; empty: not pinned
	h2      bool   // downstream is h2c
	grpc    bool   // gRPC: h2c on both sides
	suffix  string // added to process names, to run several variants at once
}

// startPath starts the proxies of the named path. An error from weft is returned
// (the scenario is about weft); a baseline's error is kept in the path.
func (e *env) startPath(ctx context.Context, name string, o pathOpts) (path, error) {
	if name == pathDirect {
		return path{name: name, port: o.to}, nil
	}
	ports, err := freePorts(2)
	if err != nil {
		return path{}, err
	}
	p := path{name: name, port: ports[0]}
	spec := func(kind, proc string, listen, to int) proxySpec {
		return proxySpec{kind: kind, name: proc + o.suffix, cpus: o.cpus, workers: o.workers,
			hops: []hop{{listen: listen, to: to, h2: o.h2, grpc: o.grpc}}}
	}
	var specs []proxySpec
	switch name {
	case pathWeft, pathNginx, pathHAProxy:
		specs = []proxySpec{spec(name, name, ports[0], o.to)}
	case pathWeft2:
		// The server sidecar is the one nearer the origin; the client's hop is h1
		// or h2 like the load, and so is the hop between the sidecars.
		specs = []proxySpec{spec("weft", "weft-server", ports[1], o.to), spec("weft", "weft-client", ports[0], ports[1])}
	default:
		return p, fmt.Errorf("unknown path %q", name)
	}
	for _, s := range specs {
		pr, err := e.startProxy(ctx, s)
		if err != nil {
			p.err = err
			if s.kind == "weft" {
				return p, fmt.Errorf("%s: %w", name, err)
			}
			fmt.Printf("   %s not measured: %v\n", name, err)
			return p, nil
		}
		p.procs = append(p.procs, pr)
	}
	return p, nil
}

// startPaths starts each named path with the same options.
func (e *env) startPaths(ctx context.Context, o pathOpts, names ...string) ([]path, error) {
	var ps []path
	for _, n := range names {
		p, err := e.startPath(ctx, n, o)
		if err != nil {
			return nil, err
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// cpuOf sums the CPU time and memory of the path's proxies.
func (p path) cpuOf() (usage, error) {
	var u usage
	for _, pr := range p.procs {
		v, err := treeUsage(pr.pid())
		if err != nil {
			return u, fmt.Errorf("%s: %w", pr.name, err)
		}
		u.cpu += v.cpu
		u.rss += v.rss
		u.anon += v.anon
	}
	return u, nil
}

// notMeasured lists the paths that could not start, for the report's notes.
func notMeasured(ps []path) []string {
	var notes []string
	for _, p := range ps {
		if p.err != nil {
			notes = append(notes, fmt.Sprintf("%s was not measured: %v", p.name, p.err))
		}
	}
	return notes
}
