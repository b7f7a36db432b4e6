package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// A hop is one listener of a proxy and where it forwards to.
type hop struct {
	listen int  // the proxy's port
	to     int  // the next hop's port
	h2     bool // downstream speaks HTTP/2 with prior knowledge (h2c)
	grpc   bool // gRPC: downstream and upstream are h2c
}

// A proxySpec says which proxy to run, on which cores, with how many workers (weft
// --concurrency, nginx worker_processes, haproxy nbthread).
type proxySpec struct {
	kind    string // weft, nginx or haproxy
	name    string // unique within a scenario, names the log and config
	cpus    string // taskset list; empty: not pinned
	workers int
	hops    []hop
}

// startProxy writes the proxy's config, starts it and waits for its listeners.
func (e *env) startProxy(ctx context.Context, s proxySpec) (*proc, error) {
	dir, err := e.dir(s.name)
	if err != nil {
		return nil, err
	}
	var p *proc
	switch s.kind {
	case "weft":
		p, err = e.startWeft(ctx, s, dir)
	case "nginx":
		p, err = e.startNginx(ctx, s.name, s.cpus, dir, nginxConf(dir, s.workers, nginxProxyServers(s.hops)))
	case "haproxy":
		p, err = e.startHAProxy(ctx, s, dir)
	default:
		err = fmt.Errorf("unknown proxy kind %q", s.kind)
	}
	if err != nil {
		return nil, err
	}
	for _, h := range s.hops {
		if err := p.waitPort(ctx, addr(h.listen)); err != nil {
			return nil, err
		}
	}
	return p, nil
}

func (e *env) startWeft(ctx context.Context, s proxySpec, dir string) (*proc, error) {
	admin, err := freePort()
	if err != nil {
		return nil, err
	}
	cfg := filepath.Join(dir, "bootstrap.yaml")
	prof := filepath.Join(dir, "weft.prof")
	if err := os.WriteFile(cfg, []byte(weftBootstrap(admin, prof, s.hops)), 0o644); err != nil {
		return nil, fmt.Errorf("weft bootstrap: %w", err)
	}
	p, err := e.runWeft(ctx, s.name, s.cpus, cfg, admin, s.workers, nil)
	if p != nil {
		p.profile = prof
	}
	return p, err
}

// runWeft starts weft on a bootstrap file, with environ added to its environment, and
// waits for its admin /ready.
func (e *env) runWeft(ctx context.Context, name, cpus, cfg string, admin, workers int, environ []string) (*proc, error) {
	p, err := e.startEnv(ctx, name, cpus, environ, e.weft, "proxy", "-c", cfg,
		"--concurrency", strconv.Itoa(workers), "--log-level", "warning", "--drain-time-s", "1")
	if err != nil {
		return nil, err
	}
	p.admin = admin
	if err := p.waitPort(ctx, addr(admin)); err != nil {
		return nil, err
	}
	return p, waitReady(ctx, p, "http://"+addr(admin)+"/ready")
}

// waitReady polls an admin /ready endpoint until it answers 200.
func waitReady(ctx context.Context, p *proc, url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if err := p.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not ready after 60s", p.name, url)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (e *env) startNginx(ctx context.Context, name, cpus, dir, conf string) (*proc, error) {
	bin, err := e.tool(ctx, "nginx")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, fmt.Errorf("nginx config: %w", err)
	}
	return e.start(ctx, name, cpus, bin, "-p", dir, "-c", path, "-e", filepath.Join(dir, "error.log"))
}

func (e *env) startHAProxy(ctx context.Context, s proxySpec, dir string) (*proc, error) {
	bin, err := e.tool(ctx, "haproxy")
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(haproxyConf(s.workers, s.hops)), 0o644); err != nil {
		return nil, fmt.Errorf("haproxy config: %w", err)
	}
	return e.start(ctx, s.name, s.cpus, bin, "-f", path, "-db")
}

// upstream is the origin every path ends at: nginx answering 1 KiB on HTTP/1.1
// and h2c, and fortio's gRPC ping server.
type upstream struct {
	h1, h2, grpc int
}

// startUpstream runs the origin on cpus with the given nginx worker count; the gRPC
// origin starts only when grpc is set.
func (e *env) startUpstream(ctx context.Context, cpus string, workers int, grpc bool) (upstream, error) {
	ports, err := freePorts(3)
	if err != nil {
		return upstream{}, err
	}
	u := upstream{h1: ports[0], h2: ports[1]}
	dir, err := e.dir("upstream")
	if err != nil {
		return u, err
	}
	p, err := e.startNginx(ctx, "upstream", cpus, dir, nginxConf(dir, workers, nginxOriginServer(u.h1, u.h2)))
	if err != nil {
		return u, fmt.Errorf("upstream: %w", err)
	}
	if err := p.waitPort(ctx, addr(u.h1)); err != nil {
		return u, err
	}
	if !grpc {
		return u, nil
	}
	fortio, err := e.tool(ctx, "fortio")
	if err != nil {
		return u, err
	}
	u.grpc = ports[2]
	g, err := e.start(ctx, "upstream-grpc", cpus, fortio, "server", "-http-port", addr(mustFreePort()),
		"-grpc-port", addr(u.grpc), "-redirect-port", "disabled", "-loglevel", "Warning")
	if err != nil {
		return u, err
	}
	return u, g.waitPort(ctx, addr(u.grpc))
}

func mustFreePort() int {
	p, err := freePort()
	if err != nil {
		panic(err)
	}
	return p
}
