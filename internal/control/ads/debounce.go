package ads

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
)

// Push trigger reasons, as istiod labels pilot_push_triggers.
const (
	reasonConfig   = "config"
	reasonService  = "service"
	reasonEndpoint = "endpoint"
)

// trigger is what a debounce window has gathered.
type trigger struct {
	// full is set by config and service changes: every type is regenerated. Without
	// it only endpoints changed, and only EDS is.
	full    bool
	reasons map[string]int
	first   time.Time // the window's first event
	last    time.Time // its latest event
	// hosts are the services whose endpoints changed, when every endpoint event named
	// them (allHosts unset): an EDS-only push regenerates only their assignments.
	hosts    map[string]bool
	allHosts bool
}

func (t *trigger) empty() bool { return len(t.reasons) == 0 }

func (t *trigger) merge(o trigger) {
	if o.empty() {
		return
	}
	if t.empty() {
		*t = trigger{reasons: map[string]int{}, first: o.first}
	}
	t.full = t.full || o.full
	for r, n := range o.reasons {
		t.reasons[r] += n
	}
	t.allHosts = t.allHosts || o.allHosts
	if !t.allHosts {
		for h := range o.hosts {
			if t.hosts == nil {
				t.hosts = map[string]bool{}
			}
			t.hosts[h] = true
		}
	} else {
		t.hosts = nil
	}
	t.first = minTime(t.first, o.first)
	if o.last.After(t.last) {
		t.last = o.last
	}
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ConfigChanged takes a config.Store event: a config change regenerates every type for
// every node. It never blocks, as config.Store handlers must not.
func (s *Server) ConfigChanged(config.Event) {
	s.m.inbound.WithLabelValues("config").Inc()
	s.enqueue(true, reasonConfig)
}

// RegistryChanged takes a registry event: EndpointsChanged regenerates EDS only,
// ServicesChanged every type. It never blocks.
func (s *Server) RegistryChanged(e registry.Event) {
	if e.Kind == registry.EndpointsChanged {
		s.m.inbound.WithLabelValues("eds").Inc()
		s.enqueueEndpoints(e.Hosts)
		return
	}
	s.m.inbound.WithLabelValues("svc").Inc()
	s.enqueue(true, reasonService)
}

func (s *Server) enqueue(full bool, reason string) {
	now := time.Now()
	s.enqueueTrigger(trigger{full: full, reasons: map[string]int{reason: 1}, first: now, last: now, allHosts: true})
}

// enqueueEndpoints queues an EDS-only push of the hosts' assignments (none named: all).
func (s *Server) enqueueEndpoints(hosts []string) {
	now := time.Now()
	t := trigger{reasons: map[string]int{reasonEndpoint: 1}, first: now, last: now, allHosts: len(hosts) == 0}
	if !t.allHosts {
		t.hosts = make(map[string]bool, len(hosts))
		for _, h := range hosts {
			t.hosts[h] = true
		}
	}
	s.enqueueTrigger(t)
}

func (s *Server) enqueueTrigger(t trigger) {
	s.updMu.Lock()
	s.upd.merge(t)
	s.updMu.Unlock()
	select {
	case s.updCh <- struct{}{}:
	default:
	}
}

func (s *Server) takeEvents() trigger {
	s.updMu.Lock()
	defer s.updMu.Unlock()
	t := s.upd
	s.upd = trigger{}
	return t
}

// Run builds the first snapshot, then debounces events into snapshot rebuilds and
// pushes until ctx ends. It returns nil when ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("ads: server is already running")
	}
	defer s.running.Store(false)
	// Events from before the first build (a store's initial load) are in it already.
	s.takeEvents()
	s.rebuild()
	s.readyOnce.Do(func() { close(s.ready) })
	var win trigger
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.updCh:
			if win.merge(s.takeEvents()); !win.empty() {
				timer.Reset(time.Until(s.deadline(win)))
			}
		case <-timer.C:
			if win.empty() {
				continue
			}
			if d := time.Until(s.deadline(win)); d > 0 {
				timer.Reset(d)
				continue
			}
			s.pushAll(win)
			win = trigger{}
		}
	}
}

// deadline is when a window closes: DebounceAfter after its last event, or DebounceMax
// after its first, whichever comes first.
func (s *Server) deadline(win trigger) time.Time {
	return minTime(win.last.Add(s.opts.DebounceAfter), win.first.Add(s.opts.DebounceMax))
}

// pushAll closes a debounce window: one snapshot rebuild, then every connection is
// queued for a push of the types the window's events can touch.
func (s *Server) pushAll(win trigger) {
	s.m.debounceTime.Observe(time.Since(win.first).Seconds())
	for r, n := range win.reasons {
		s.m.triggers.WithLabelValues(r).Add(float64(n))
	}
	s.rebuild()
	p := &pushRequest{start: win.first, enqueued: time.Now()}
	if !win.full {
		p.types = map[string]bool{EndpointType: true}
		if !win.allHosts {
			p.hosts = win.hosts
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, c := range s.conns {
		c.enqueue(p)
	}
	s.log.Debug("push queued", "connections", len(s.conns), "full", win.full, "reasons", win.reasons,
		"version", s.current.Load().Version)
}

// rebuild builds a new snapshot and makes it current. Versions look like istiod's:
// the build time and a sequence number.
func (s *Server) rebuild() {
	v := time.Now().UTC().Format(time.RFC3339) + "/" + strconv.FormatUint(s.versionSeq.Add(1), 10)
	snap := s.opts.Snapshots.Snapshot(v)
	if snap == nil {
		if s.current.Load() != nil {
			s.log.Error("snapshot source returned no snapshot; keeping the previous one", "version", v)
			return
		}
		snap = &mesh.Snapshot{Version: v}
	}
	s.current.Store(snap)
	s.m.services.Set(float64(len(snap.Services)))
	s.m.virtServices.Set(float64(len(snap.Config[config.VirtualService])))
}
