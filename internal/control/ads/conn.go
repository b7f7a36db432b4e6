package ads

import (
	"cmp"
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unique"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// resourceName is a resource name, interned. Every node holds the names of most of the
// mesh's clusters, endpoints and routes, for as long as it is connected: as strings of
// their own they were most of the server's heap (issue 4's scale benchmark).
type resourceName = unique.Handle[string]

func internName(s string) resourceName { return unique.Make(s) }

// watch is one connection's subscription to a type URL and what the node holds of it.
// Only the connection's goroutine writes it, holding connection.mu; others read it
// under connection.mu.
type watch struct {
	typeURL  string
	wildcard bool
	names    map[resourceName]struct{}
	// sent holds a hash of each resource the node has: what it was last sent or, after
	// a delta reconnect, what it says it has.
	sent map[resourceName]uint64

	sentVersion, sentNonce   string
	sentTime                 time.Time
	ackedVersion, ackedNonce string
	nack                     *nackState
}

// nackState is the last rejection of a type: the version and nonce the node refused,
// and why.
type nackState struct {
	version, nonce, message string
	at                      time.Time
}

func newWatch(typeURL string) *watch {
	return &watch{typeURL: typeURL, names: map[resourceName]struct{}{}, sent: map[resourceName]uint64{}}
}

// selects reports whether the watch covers a resource name.
func (w *watch) selects(name resourceName) bool {
	if w.wildcard {
		return true
	}
	_, ok := w.names[name]
	return ok
}

// nameList returns the names the watch subscribes to, sorted.
func (w *watch) nameList() []string {
	out := make([]string, 0, len(w.names))
	for n := range w.names {
		out = append(out, n.Value())
	}
	slices.Sort(out)
	return out
}

// namesOfHosts returns the names the watch subscribes to whose cluster (Istio's
// "outbound|port|subset|host") belongs to one of hosts, sorted; a name of another form
// is kept, so that nothing is missed.
func (w *watch) namesOfHosts(hosts map[string]bool) []string {
	var out []string
	for n := range w.names {
		name := n.Value()
		if h, ok := mesh.OutboundClusterHost(name); !ok || hosts[h] {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// pushRequest is a push queued for a connection. Queued pushes merge.
type pushRequest struct {
	types map[string]bool // nil: every watched type
	// hosts, on an EDS-only push, are the services whose assignments are regenerated;
	// nil: all of them.
	hosts    map[string]bool
	start    time.Time // the first event behind the push (convergence time)
	enqueued time.Time // when it was queued (queue time)
}

func (p *pushRequest) merge(o *pushRequest) *pushRequest {
	m := &pushRequest{start: minTime(p.start, o.start), enqueued: minTime(p.enqueued, o.enqueued)}
	if p.types != nil && o.types != nil {
		m.types = maps.Clone(p.types)
		maps.Copy(m.types, o.types)
	}
	if p.hosts != nil && o.hosts != nil {
		m.hosts = maps.Clone(p.hosts)
		maps.Copy(m.hosts, o.hosts)
	}
	return m
}

// connection is one ADS stream from one node.
type connection struct {
	s           *Server
	id          string
	node        *mesh.Node
	userAgent   string
	peer        string
	connectedAt time.Time
	delta       bool
	sendSotW    func(*discoveryv3.DiscoveryResponse) error
	sendDelta   func(*discoveryv3.DeltaDiscoveryResponse) error

	pushCh chan struct{} // capacity 1: a push is pending

	// slot is the place under the push bound held until the node answers the response
	// with slotNonce (see slot); only the stream's goroutine uses them.
	slot      *slot
	slotNonce string

	mu      sync.Mutex // guards pending, and watches for readers on other goroutines
	pending *pushRequest
	watches map[string]*watch
}

// request is what both stream variants receive.
type request interface {
	GetNode() *corev3.Node
	GetTypeUrl() string
}

func (s *Server) newConnection(ctx context.Context, delta bool) *connection {
	c := &connection{s: s, delta: delta, connectedAt: time.Now(), pushCh: make(chan struct{}, 1),
		watches: map[string]*watch{}}
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		c.peer = p.Addr.String()
	}
	return c
}

// StreamAggregatedResources serves a state-of-the-world ADS stream.
func (s *Server) StreamAggregatedResources(st discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesServer) error {
	c := s.newConnection(st.Context(), false)
	c.sendSotW = st.Send
	return s.serveStream(st.Context(), c, func() (request, error) { return st.Recv() })
}

// DeltaAggregatedResources serves an incremental ADS stream.
func (s *Server) DeltaAggregatedResources(st discoveryv3.AggregatedDiscoveryService_DeltaAggregatedResourcesServer) error {
	c := s.newConnection(st.Context(), true)
	c.sendDelta = st.Send
	return s.serveStream(st.Context(), c, func() (request, error) { return st.Recv() })
}

// serveStream runs a stream: requests and pushes are handled on this goroutine, so sends
// never race; a second goroutine only receives.
func (s *Server) serveStream(ctx context.Context, c *connection, recv func() (request, error)) error {
	reqs := make(chan request)
	errc := make(chan error, 1)
	go receive(ctx, recv, reqs, errc)
	var first request
	select {
	case <-ctx.Done():
		return nil
	case err := <-errc:
		return streamEnd(err)
	case first = <-reqs:
	}
	if err := c.setNode(first.GetNode()); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	select {
	case <-ctx.Done():
		return nil
	case <-s.ready:
	}
	s.addConn(c)
	defer s.removeConn(c)
	defer c.releaseSlot()
	for r := first; ; {
		if r != nil {
			if err := c.handle(r); err != nil {
				return err
			}
		}
		r = nil
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			return streamEnd(err)
		case r = <-reqs:
		case <-c.pushCh:
			if err := c.push(ctx); err != nil {
				return err
			}
		}
	}
}

func receive(ctx context.Context, recv func() (request, error), reqs chan<- request, errc chan<- error) {
	for {
		r, err := recv()
		if err != nil {
			errc <- err
			return
		}
		select {
		case reqs <- r:
		case <-ctx.Done():
			return
		}
	}
}

// streamEnd turns a receive error into the stream's result: a client that hangs up or
// cancels ends the stream cleanly.
func streamEnd(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, context.Canceled) {
		return nil
	}
	if c := status.Code(err); c == codes.Canceled || c == codes.Unavailable {
		return nil
	}
	return err
}

func (c *connection) setNode(n *corev3.Node) error {
	node, err := mesh.ParseNode(n)
	if err != nil {
		return err
	}
	c.node = node
	c.userAgent = n.GetUserAgentName()
	if v := n.GetUserAgentVersion(); v != "" {
		c.userAgent += "/" + v
	}
	c.id = node.ID + "-" + strconv.FormatUint(c.s.connSeq.Add(1), 10)
	return nil
}

func (c *connection) handle(r request) error {
	switch r := r.(type) {
	case *discoveryv3.DiscoveryRequest:
		return c.handleSotW(r)
	case *discoveryv3.DeltaDiscoveryRequest:
		return c.handleDelta(r)
	}
	return nil
}

// addWatch records a new watch; the map changes under mu for debug readers.
func (c *connection) addWatch(w *watch) {
	c.mu.Lock()
	c.watches[w.typeURL] = w
	c.mu.Unlock()
}

// watchedTypes returns the watched type URLs in push order.
func (c *connection) watchedTypes() []string {
	types := slices.Collect(maps.Keys(c.watches))
	sortTypes(types)
	return types
}

func (c *connection) enqueue(p *pushRequest) {
	c.mu.Lock()
	if c.pending == nil {
		c.pending = p
	} else {
		c.pending = c.pending.merge(p)
	}
	c.mu.Unlock()
	select {
	case c.pushCh <- struct{}{}:
	default:
	}
}

func (c *connection) takePending() *pushRequest {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.pending
	c.pending = nil
	return p
}

func (s *Server) addConn(c *connection) {
	s.mu.Lock()
	s.conns[c.id] = c
	v := c.node.Metadata["ISTIO_VERSION"]
	s.versions[v]++
	s.m.xdsClients.WithLabelValues(v).Set(float64(s.versions[v]))
	s.mu.Unlock()
	s.log.Info("ads connected", "connection", c.id, "peer", c.peer, "delta", c.delta)
}

func (s *Server) removeConn(c *connection) {
	s.mu.Lock()
	delete(s.conns, c.id)
	v := c.node.Metadata["ISTIO_VERSION"]
	s.versions[v]--
	s.m.xdsClients.WithLabelValues(v).Set(float64(s.versions[v]))
	s.mu.Unlock()
	s.log.Info("ads disconnected", "connection", c.id)
}

// connections returns the connected streams, sorted by node ID then connection time.
func (s *Server) connections() []*connection {
	s.mu.RLock()
	cs := slices.Collect(maps.Values(s.conns))
	s.mu.RUnlock()
	slices.SortFunc(cs, func(a, b *connection) int {
		return cmp.Or(strings.Compare(a.node.ID, b.node.ID), a.connectedAt.Compare(b.connectedAt))
	})
	return cs
}
