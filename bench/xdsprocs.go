package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// xdsTimeout bounds how long a control plane may take to load its config and a
// sidecar to settle: 5000 services on a loaded two-core machine take seconds, not
// minutes, so running into it means something is broken.
const xdsTimeout = 5 * time.Minute

// A controlPlane is a weft control serving one config directory.
type controlPlane struct {
	*proc
	xds, mon int
}

// startControl starts weft control on dir and waits until it serves services.
func (e *env) startControl(ctx context.Context, name, dir string, services int) (*controlPlane, error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, err
	}
	p, err := e.startEnv(ctx, name, "", []string{gcTrace}, e.weft, "control", "--config-dir", dir,
		"--xds-address", addr(ports[0]), "--monitoring-address", addr(ports[1]), "--log-level", "warning")
	if err != nil {
		return nil, err
	}
	cp := &controlPlane{proc: p, xds: ports[0], mon: ports[1]}
	deadline := time.Now().Add(xdsTimeout)
	for {
		m, err := promMetrics(cp.mon)
		if err == nil && m["pilot_services"] == float64(services) {
			break
		}
		if err := p.exited(); err != nil {
			return nil, err
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("%s: not serving %d services after %s (metrics: %v): %s", name, services, xdsTimeout, err, logTail(p.log))
		}
		if err := sleepCtx(ctx, 100*time.Millisecond); err != nil {
			return nil, err
		}
	}
	if tail := logTail(p.log); strings.Contains(tail, "config rejected") {
		return nil, fmt.Errorf("%s rejected the generated config: %s", name, tail)
	}
	return cp, nil
}

// heap is the control plane's Go heap (HeapAlloc) from its /metrics.
func (cp *controlPlane) heap() (float64, error) {
	m, err := promMetrics(cp.mon)
	if err != nil {
		return 0, err
	}
	v, ok := m["go_memstats_heap_alloc_bytes"]
	if !ok {
		return 0, fmt.Errorf("%s /metrics: no go_memstats_heap_alloc_bytes", cp.name)
	}
	return v, nil
}

// sidecarOpts say which client a sidecar is.
type sidecarOpts struct {
	ip      string   // its loopback address: the node's IP and the HTTP proxy's
	app     string   // its app label (appFull or appScoped)
	environ []string // added to its environment
}

// startSidecar starts weft proxy on the control plane as a sidecar in clientNS,
// without capture (INTERCEPTION_MODE NONE: its one listener is an HTTP proxy on its
// own address, so that several run side by side), and waits for its admin API.
func (e *env) startSidecar(ctx context.Context, name string, cp *controlPlane, o sidecarOpts) (*proc, error) {
	admin, err := freePort()
	if err != nil {
		return nil, err
	}
	pod := strings.ReplaceAll(o.ip, ".", "-")
	p, err := e.startEnv(ctx, name, "", o.environ, e.weft, "proxy", "--xds", addr(cp.xds),
		"--node-id", fmt.Sprintf("sidecar~%s~%s-%s.%s~%s.svc.cluster.local", o.ip, o.app, pod, clientNS, clientNS),
		"--metadata", "NAMESPACE="+clientNS, "--metadata", "INTERCEPTION_MODE=NONE", "--label", "app="+o.app,
		"--admin-address", addr(admin), "--concurrency", "2", "--log-level", "warning", "--drain-time-s", "1")
	if err != nil {
		return nil, err
	}
	p.admin = admin
	return p, p.waitPort(ctx, addr(admin))
}

// settleStats are the stats that say whether a sidecar has applied its config, and
// when it last applied an update of each type (update_time, in Unix milliseconds).
const settleStats = `^(cluster_manager\.((cds|eds)\.update_(success|time)|warming_clusters)|listener_manager\.(lds\.update_(success|time)|total_listeners_active)|http\.rds\.update_(success|time))$`

// updateTimes are the stats that time a sidecar's last update of each type.
var updateTimes = []string{"cluster_manager.cds.update_time", "cluster_manager.eds.update_time",
	"listener_manager.lds.update_time", "http.rds.update_time"}

// membershipStats are the outbound clusters' host counts.
const membershipStats = `^cluster\.outbound\|.*\.membership_total$`

// waitSettled polls a sidecar's admin /stats until it has accepted listeners, routes
// and clusters, has no cluster warming, and holds exactly the outbound clusters and
// endpoints it should, and returns when it applied its last update, by its own
// update_time stats. A stats query walks every stat, so the polls back off to one a
// second: the sidecar's clock times it, not the polling. Nothing is polled once settled.
func waitSettled(ctx context.Context, p *proc, clusters, endpoints int) (time.Time, error) {
	deadline := time.Now().Add(xdsTimeout)
	var last string
	for pause := 50 * time.Millisecond; ; pause = min(2*pause, time.Second) {
		at, state, err := settled(p.admin, clusters, endpoints)
		if err != nil {
			state = err.Error()
		}
		if !at.IsZero() {
			return at, nil
		}
		last = state
		if err := p.exited(); err != nil {
			return time.Time{}, err
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("%s: not settled after %s (want %d outbound clusters, %d endpoints; %s): %s",
				p.name, xdsTimeout, clusters, endpoints, last, logTail(p.log))
		}
		if err := sleepCtx(ctx, pause); err != nil {
			return time.Time{}, err
		}
	}
}

// settled returns the time of the sidecar's last update once it has settled, and
// otherwise a zero time and its state in words.
func settled(admin, clusters, endpoints int) (time.Time, string, error) {
	s, err := adminStats(admin, settleStats)
	if err != nil {
		return time.Time{}, "", err
	}
	state := fmt.Sprint(s)
	if s["cluster_manager.cds.update_success"] < 1 || s["listener_manager.lds.update_success"] < 1 ||
		s["http.rds.update_success"] < 1 || s["cluster_manager.warming_clusters"] != 0 ||
		s["listener_manager.total_listeners_active"] < 1 {
		return time.Time{}, state, nil
	}
	m, err := adminStats(admin, membershipStats)
	if err != nil {
		return time.Time{}, state, err
	}
	sum := 0.0
	for _, v := range m {
		sum += v
	}
	state = fmt.Sprintf("%s; %d outbound clusters, %.0f endpoints", state, len(m), sum)
	if len(m) != clusters || sum != float64(endpoints) {
		return time.Time{}, state, nil
	}
	var ms float64
	for _, k := range updateTimes {
		ms = max(ms, s[k])
	}
	return time.UnixMilli(int64(ms)), state, nil
}

// adminStats reads the numeric stats matching filter (a regular expression) from a
// weft admin API.
func adminStats(admin int, filter string) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr(admin) + "/stats?filter=" + url.QueryEscape(filter))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return nil, fmt.Errorf("admin /stats: %s: %s", resp.Status, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		if !ok {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			out[k] = f
		}
	}
	return out, sc.Err()
}

// promMetrics reads the unlabelled samples of a control plane's /metrics.
func promMetrics(port int) (map[string]float64, error) {
	resp, err := http.Get("http://" + addr(port) + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("/metrics: %s", resp.Status)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || strings.HasPrefix(f[0], "#") || strings.Contains(f[0], "{") {
			continue
		}
		if v, err := strconv.ParseFloat(f[1], 64); err == nil {
			out[f[0]] = v
		}
	}
	return out, sc.Err()
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
