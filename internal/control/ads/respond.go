package ads

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cespare/xxhash/v2"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// encoded is one generated resource, marshalled once: the bytes are both hashed and sent.
type encoded struct {
	name string
	key  resourceName // name, interned
	hash uint64
	any  *anypb.Any
}

var deterministic = proto.MarshalOptions{Deterministic: true}

// generate runs the generator for a watch and encodes the resources the watch selects,
// sorted by name.
func (c *connection) generate(w *watch, snap *mesh.Snapshot) ([]encoded, error) {
	var names []string
	if !w.wildcard {
		names = w.nameList()
	}
	return c.generateNames(w, snap, names, nil)
}

// generateNames is generate for the given names (nil: what the watch selects), in a
// generator session when there is one.
func (c *connection) generateNames(w *watch, snap *mesh.Snapshot, names []string, session generatorSession) ([]encoded, error) {
	var rs []Resource
	var err error
	if session != nil {
		rs, err = session(w.typeURL, names)
	} else {
		rs, err = c.s.opts.Generator.Generate(c.node, snap, w.typeURL, names)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s for %s: %w", ShortType(w.typeURL), c.node.ID, err)
	}
	out := make([]encoded, 0, len(rs))
	for _, r := range rs {
		key := internName(r.Name)
		if !w.selects(key) {
			continue
		}
		e, err := encode(r, key, w.typeURL)
		if err != nil {
			return nil, fmt.Errorf("generate %s for %s: %w", ShortType(w.typeURL), c.node.ID, err)
		}
		if err := c.s.validate(c.node, w.typeURL, r, e.hash); err != nil {
			return nil, fmt.Errorf("generate %s for %s: %w", ShortType(w.typeURL), c.node.ID, err)
		}
		out = append(out, e)
	}
	slices.SortStableFunc(out, func(a, b encoded) int { return strings.Compare(a.name, b.name) })
	return slices.CompactFunc(out, func(a, b encoded) bool { return a.name == b.name }), nil
}

func encode(r Resource, key resourceName, typeURL string) (encoded, error) {
	if r.Message == nil {
		return encoded{}, fmt.Errorf("resource %q: no message", r.Name)
	}
	if got := typePrefix + string(r.Message.ProtoReflect().Descriptor().FullName()); got != typeURL {
		return encoded{}, fmt.Errorf("resource %q: type %s, want %s", r.Name, got, typeURL)
	}
	b, err := deterministic.Marshal(r.Message)
	if err != nil {
		return encoded{}, fmt.Errorf("resource %q: %w", r.Name, err)
	}
	return encoded{name: r.Name, key: key, hash: xxhash.Sum64(b), any: &anypb.Any{TypeUrl: typeURL, Value: b}}, nil
}

// update is one type's worth of change for a connection, computed before it is sent and
// committed to the watch after.
type update struct {
	w       *watch
	version string
	all     []encoded // everything the watch selects now
	changed []encoded // new, or different from what the node holds
	removed []string  // held by the node (or asked for) but no longer generated
	// partial: all holds only the regenerated part of what the node holds (an EDS push
	// for some services); the rest stays as it is.
	partial bool
	respond bool
	started time.Time
	nonce   string // set once sent
}

// prepareOpts say why an update is computed. force answers a request even when nothing
// changed; missing are names just subscribed to (delta reports those that do not
// exist); resend are names to send even if unchanged.
type prepareOpts struct {
	force   bool
	missing []string
	resend  map[string]bool
	// hosts limits an EDS update to the assignments of these services (nil: all).
	hosts map[string]bool
	// session, when set, generates (a push's types share one).
	session generatorSession
}

// generatorSession generates types for one node and snapshot (SessionGenerator).
type generatorSession func(typeURL string, names []string) ([]Resource, error)

func (c *connection) prepare(w *watch, snap *mesh.Snapshot, o prepareOpts) (*update, error) {
	u := &update{w: w, version: snap.Version, started: time.Now()}
	var only []string // a partial update: the names regenerated
	if o.hosts != nil && w.typeURL == EndpointType && !w.wildcard {
		only = w.namesOfHosts(o.hosts)
		if len(only) == 0 {
			u.partial = true
			return u, nil // none of the node's clusters changed
		}
	}
	var all []encoded
	var err error
	if only == nil && !w.wildcard {
		only = w.nameList()
	} else if only != nil {
		u.partial = true
	}
	all, err = c.generateNames(w, snap, only, o.session)
	if err != nil {
		c.s.m.pushes.WithLabelValues(ShortType(w.typeURL) + "_builderr").Inc()
		return nil, err
	}
	u.all = all
	names := make(map[resourceName]bool, len(all))
	for _, e := range all {
		names[e.key] = true
		if h, ok := w.sent[e.key]; !ok || h != e.hash || o.resend[e.name] {
			u.changed = append(u.changed, e)
		}
	}
	if u.partial {
		for _, n := range only {
			if k := internName(n); !names[k] {
				if _, held := w.sent[k]; held {
					u.removed = append(u.removed, n)
				}
			}
		}
	} else {
		for n := range w.sent {
			if !names[n] {
				u.removed = append(u.removed, n.Value())
			}
		}
	}
	if c.delta {
		for _, n := range o.missing {
			k := internName(n)
			if _, held := w.sent[k]; !names[k] && !held {
				u.removed = append(u.removed, n)
			}
		}
	}
	slices.Sort(u.removed)
	switch {
	case c.delta, fullStateType(w.typeURL):
		u.respond = o.force || len(u.changed) > 0 || len(u.removed) > 0
	default:
		// State of the world for RDS, EDS and the rest: only changed resources are sent,
		// and a resource left out is not deleted.
		u.respond = len(u.changed) > 0
	}
	return u, nil
}

// changedNames returns the names an update sends as new or changed.
func (u *update) changedNames() map[string]bool {
	m := make(map[string]bool, len(u.changed))
	for _, e := range u.changed {
		m[e.name] = true
	}
	return m
}

// respond answers a request for one type from the current snapshot, under the
// server's concurrency bound as for pushes: when thousands of nodes connect at once,
// unbounded generation starved the gRPC transports until clients gave up waiting for
// the server's HTTP/2 preface.
func (c *connection) respond(w *watch, o prepareOpts) error {
	c.releaseSlot()
	sl := c.s.acquire(context.Background())
	u, err := c.prepare(w, c.s.current.Load(), o)
	if err != nil {
		sl.release()
		c.s.log.Error("generation failed", "connection", c.id, "error", err)
		return nil
	}
	err = c.send(u)
	c.holdSlot(sl, u.nonce)
	return err
}

// push runs a queued push: generation for every type in scope, then the sends in push
// order, under the server's concurrency bound.
func (c *connection) push(ctx context.Context) error {
	p := c.takePending()
	if p == nil {
		return nil
	}
	c.releaseSlot()
	sl := c.s.acquire(ctx)
	if sl == nil {
		return nil
	}
	c.s.m.queueTime.Observe(time.Since(p.enqueued).Seconds())
	ups := c.preparePush(c.s.current.Load(), p)
	last := ""
	for _, u := range ups {
		if err := c.send(u); err != nil {
			sl.release()
			return err
		}
		if u.nonce != "" {
			last = u.nonce
		}
	}
	c.holdSlot(sl, last)
	c.s.m.convergence.Observe(time.Since(p.start).Seconds())
	return nil
}

// slot is a place under the server's concurrency bound (PushConcurrency), held while
// one node's config is generated, sent, and until the node ACKs (or NACKs) the last
// response: a gRPC send returns once the message is queued, so what bounds the memory
// of a push is the node taking its config, not the send returning (2000 nodes with
// their config queued at once held 4.9 GB). A node that has not answered after SlowSend
// gives its place up and goes on outside the bound, so that a client that reads slowly
// cannot stall the others' pushes.
type slot struct {
	s     *Server
	held  atomic.Bool
	timer *time.Timer
}

// acquire waits for a place; nil means ctx ended first.
func (s *Server) acquire(ctx context.Context) *slot {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return nil
	}
	sl := &slot{s: s}
	sl.held.Store(true)
	sl.timer = time.AfterFunc(s.opts.SlowSend, func() {
		if sl.free() {
			s.m.slowSends.Inc()
		}
	})
	return sl
}

// release gives the place back, unless SlowSend already did.
func (sl *slot) release() {
	sl.timer.Stop()
	sl.free()
}

func (sl *slot) free() bool {
	if !sl.held.CompareAndSwap(true, false) {
		return false
	}
	<-sl.s.sem
	return true
}

// holdSlot keeps sl until the node answers the response with nonce ("": nothing was
// sent, so sl goes back now). Only the stream's goroutine calls it, as the ones below.
func (c *connection) holdSlot(sl *slot, nonce string) {
	if nonce == "" {
		sl.release()
		return
	}
	c.slot, c.slotNonce = sl, nonce
}

// answered releases the held slot when nonce is the one it waits for.
func (c *connection) answered(nonce string) {
	if c.slot != nil && nonce == c.slotNonce {
		c.releaseSlot()
	}
}

// releaseSlot gives back the slot the connection holds, if any.
func (c *connection) releaseSlot() {
	if c.slot != nil {
		c.slot.release()
		c.slot, c.slotNonce = nil, ""
	}
}

func (c *connection) preparePush(snap *mesh.Snapshot, p *pushRequest) []*update {
	var ups []*update
	var changedClusters map[string]bool
	var session generatorSession
	if sg, ok := c.s.opts.Generator.(SessionGenerator); ok {
		session = sg.Session(c.node, snap)
	}
	for _, t := range c.watchedTypes() {
		if p.types != nil && !p.types[t] {
			continue
		}
		o := prepareOpts{session: session}
		if t == EndpointType {
			// A cluster Envoy re-creates warms until its endpoints come again.
			o.resend = changedClusters
			if p.types != nil {
				o.hosts = p.hosts // an EDS-only push: the changed services' assignments
			}
		}
		u, err := c.prepare(c.watches[t], snap, o)
		if err != nil {
			c.s.log.Error("generation failed", "connection", c.id, "error", err)
			continue
		}
		if t == ClusterType {
			changedClusters = u.changedNames()
		}
		ups = append(ups, u)
	}
	return ups
}

// send sends an update if it has anything to say, then commits it to the watch.
func (c *connection) send(u *update) error {
	if !u.respond {
		c.commit(u, "")
		return nil
	}
	t := u.w.typeURL
	nonce := c.s.noncePrefix + "-" + strconv.FormatUint(c.s.nonceSeq.Add(1), 10)
	var size int
	var err error
	if c.delta {
		size, err = c.sendDeltaUpdate(u, nonce)
	} else {
		size, err = c.sendSotWUpdate(u, nonce)
	}
	if err != nil {
		c.s.m.pushes.WithLabelValues(ShortType(t) + "_senderr").Inc()
		return fmt.Errorf("send %s to %s: %w", ShortType(t), c.node.ID, err)
	}
	u.nonce = nonce
	c.s.m.pushes.WithLabelValues(ShortType(t)).Inc()
	c.s.m.pushTime.WithLabelValues(ShortType(t)).Observe(time.Since(u.started).Seconds())
	c.s.m.configSize.WithLabelValues(ShortType(t)).Observe(float64(size))
	c.commit(u, nonce)
	c.s.log.Debug("sent", "connection", c.id, "type", ShortType(t), "version", u.version, "nonce", nonce,
		"changed", len(u.changed), "removed", len(u.removed))
	return nil
}

func (c *connection) sendSotWUpdate(u *update, nonce string) (int, error) {
	rs := u.changed
	if fullStateType(u.w.typeURL) {
		rs = u.all
	}
	resp := &discoveryv3.DiscoveryResponse{VersionInfo: u.version, TypeUrl: u.w.typeURL, Nonce: nonce,
		Resources: make([]*anypb.Any, 0, len(rs))}
	size := 0
	for _, e := range rs {
		resp.Resources = append(resp.Resources, e.any)
		size += len(e.any.Value)
	}
	return size, c.sendSotW(resp)
}

func (c *connection) sendDeltaUpdate(u *update, nonce string) (int, error) {
	resp := &discoveryv3.DeltaDiscoveryResponse{SystemVersionInfo: u.version, TypeUrl: u.w.typeURL, Nonce: nonce,
		RemovedResources: u.removed, Resources: make([]*discoveryv3.Resource, 0, len(u.changed))}
	size := 0
	for _, e := range u.changed {
		resp.Resources = append(resp.Resources, &discoveryv3.Resource{Name: e.name, Version: hashVersion(e.hash), Resource: e.any})
		size += len(e.any.Value)
	}
	return size, c.sendDelta(resp)
}

// commit records what the node now holds and, when a response went out, its version
// and nonce.
func (c *connection) commit(u *update, nonce string) {
	if u.partial {
		c.mu.Lock()
		defer c.mu.Unlock()
		for _, e := range u.all {
			u.w.sent[e.key] = e.hash
		}
		for _, n := range u.removed {
			delete(u.w.sent, internName(n))
		}
		if nonce != "" {
			u.w.sentVersion, u.w.sentNonce, u.w.sentTime = u.version, nonce, time.Now()
		}
		return
	}
	sent := make(map[resourceName]uint64, len(u.all))
	for _, e := range u.all {
		sent[e.key] = e.hash
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	u.w.sent = sent
	if nonce != "" {
		u.w.sentVersion, u.w.sentNonce, u.w.sentTime = u.version, nonce, time.Now()
	}
}

// hashVersion is a delta resource version: the resource's hash in hex.
func hashVersion(h uint64) string { return strconv.FormatUint(h, 16) }

// parseVersion reads a delta resource version back; a version this server did not make
// reads as 0, which matches no resource, so the resource is sent again.
func parseVersion(v string) uint64 {
	h, err := strconv.ParseUint(v, 16, 64)
	if err != nil {
		return 0
	}
	return h
}
