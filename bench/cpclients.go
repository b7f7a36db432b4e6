package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftmesh/weft/internal/proxy/xdsclient"
)

// The simulated sidecars of the controlplane scenario: N state-of-the-world ADS
// clients in the harness's process, each on a gRPC connection of its own as every
// Envoy has, subscribing as Envoy does (CDS and LDS wildcard, then EDS for the EDS
// clusters and RDS for the route tables the listeners name) and ACKing every response
// at once. They keep names, not config: only the churn service's endpoints are decoded.

const (
	typeCluster  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	typeEndpoint = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	typeListener = "type.googleapis.com/envoy.config.listener.v3.Listener"
	typeRoute    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

// adsFleet is the clients and what they have seen.
type adsFleet struct {
	clients []*adsClient
	churn   *churnTracker
	names   sync.Map // interned resource names: clients in a namespace hold the same
	// reconnects counts streams the server ended; lastDrop says why the last one ended.
	reconnects atomic.Int64
	lastDrop   atomic.Value
	errc       chan error
	cancel     context.CancelFunc
	wg         sync.WaitGroup
}

// adsClient is one simulated sidecar. The counters are written by its goroutine and
// read by the scenario.
type adsClient struct {
	i         int
	responses atomic.Int64
	bytes     atomic.Int64
	lastAck   atomic.Int64 // Unix nanoseconds of the last ACK sent
	types     atomic.Int32 // how many of the four types it has received
}

// startFleet connects n clients to the ADS server at xds, in batches so that the
// connection storm does not time out the gRPC handshakes.
func startFleet(ctx context.Context, xds string, n int, churn *churnTracker) *adsFleet {
	ctx, cancel := context.WithCancel(ctx)
	f := &adsFleet{churn: churn, errc: make(chan error, n), cancel: cancel}
	for i := range n {
		c := &adsClient{i: i}
		f.clients = append(f.clients, c)
		f.wg.Go(func() {
			if err := f.run(ctx, xds, c); err != nil && ctx.Err() == nil {
				f.errc <- fmt.Errorf("client %d: %w", c.i, err)
			}
		})
		if i%100 == 99 {
			sleepCtx(ctx, 20*time.Millisecond)
		}
	}
	return f
}

func (f *adsFleet) close() {
	f.cancel()
	f.wg.Wait()
}

// failed returns the first client error, if any.
func (f *adsFleet) failed() error {
	select {
	case err := <-f.errc:
		return err
	default:
		return nil
	}
}

// fleetStat is the clients' totals at one moment.
type fleetStat struct {
	ready            int
	responses, bytes int64
}

func (f *adsFleet) stat() fleetStat {
	var s fleetStat
	for _, c := range f.clients {
		if c.types.Load() == 4 {
			s.ready++
		}
		s.responses += c.responses.Load()
		s.bytes += c.bytes.Load()
	}
	return s
}

// cpNode is client i: a sidecar in namespace ns-(i mod 10) with Istio's metadata.
func cpNode(i int) *corev3.Node {
	ns := meshNamespace(i)
	ip := fmt.Sprintf("10.1.%d.%d", i/250, i%250+1)
	md, _ := structpb.NewStruct(map[string]any{"NAMESPACE": ns, "CLUSTER_ID": "Kubernetes", "ISTIO_VERSION": "1.31.0",
		"LABELS": map[string]any{"app": fmt.Sprintf("client-%d", i)}})
	return &corev3.Node{Id: fmt.Sprintf("sidecar~%s~client-%d.%s~%s.svc.cluster.local", ip, i, ns, ns), Metadata: md}
}

// adsStream is one client's subscription state, owned by its goroutine.
type adsStream struct {
	f     *adsFleet
	c     *adsClient
	st    discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	names map[string][]string // the EDS and RDS subscriptions
	nonce map[string]string   // the last nonce received, by type
	seen  map[string]bool     // types received, over every stream of the client
	churn map[string]bool     // the churn service's endpoints it holds
}

// run keeps client c connected: as Envoy does, it connects again (after a second)
// when the server ends its stream, and subscribes afresh.
func (f *adsFleet) run(ctx context.Context, xds string, c *adsClient) error {
	seen := map[string]bool{}
	for tries := 0; ; tries++ {
		err := f.stream(ctx, xds, c, seen)
		if ctx.Err() != nil {
			return nil
		}
		if tries == 20 {
			return fmt.Errorf("stream ended 20 times, last: %w", err)
		}
		f.reconnects.Add(1)
		f.lastDrop.Store(fmt.Sprintf("client %d: %v", c.i, err))
		if err := sleepCtx(ctx, time.Second); err != nil {
			return nil
		}
	}
}

// stream runs one ADS stream on a connection of its own until it fails.
func (f *adsFleet) stream(ctx context.Context, xds string, c *adsClient, seen map[string]bool) error {
	conn, err := grpc.NewClient(xds, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)))
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	s := &adsStream{f: f, c: c, st: st, names: map[string][]string{}, nonce: map[string]string{},
		seen: seen, churn: map[string]bool{}}
	if err := st.Send(&discoveryv3.DiscoveryRequest{Node: cpNode(c.i), TypeUrl: typeCluster}); err != nil {
		return err
	}
	if err := st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: typeListener}); err != nil {
		return err
	}
	for {
		resp, err := st.Recv()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			return errors.New("the server ended the stream")
		case err != nil:
			return err
		}
		if err := s.handle(resp); err != nil {
			return err
		}
	}
}

// handle ACKs a response, records it, and subscribes to what it names.
func (s *adsStream) handle(resp *discoveryv3.DiscoveryResponse) error {
	t := resp.GetTypeUrl()
	s.nonce[t] = resp.GetNonce()
	if err := s.st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: t, VersionInfo: resp.GetVersionInfo(),
		ResponseNonce: resp.GetNonce(), ResourceNames: s.names[t]}); err != nil {
		return err
	}
	now := time.Now()
	s.c.lastAck.Store(now.UnixNano())
	s.c.bytes.Add(int64(proto.Size(resp)))
	s.c.responses.Add(1)
	if !s.seen[t] {
		s.seen[t] = true
		s.c.types.Add(1)
	}
	var sub string
	var names []string
	var err error
	switch t {
	case typeCluster:
		sub, names = typeEndpoint, s.edsClusters(resp)
	case typeListener:
		sub = typeRoute
		names, err = routeNames(resp)
	case typeEndpoint:
		return s.churnEndpoints(resp, now)
	default:
		return nil
	}
	if err != nil || slices.Equal(names, s.names[sub]) && s.names[sub] != nil {
		return err
	}
	s.names[sub] = names
	return s.st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: sub, ResponseNonce: s.nonce[sub], ResourceNames: names})
}

// intern shares a name between the clients.
func (f *adsFleet) intern(b []byte) string {
	if v, ok := f.names.Load(string(b)); ok {
		return v.(string)
	}
	v, _ := f.names.LoadOrStore(string(b), string(b))
	return v.(string)
}

// edsClusters returns the sorted EDS service names of a CDS response, read from the
// wire without decoding the clusters: name (1), type (2), eds_cluster_config (3) and
// its service_name (2).
func (s *adsStream) edsClusters(resp *discoveryv3.DiscoveryResponse) []string {
	out := []string{}
	for _, a := range resp.GetResources() {
		var name, service []byte
		eds := false
		fields(a.GetValue(), func(num protowire.Number, v []byte, n uint64) {
			switch num {
			case 1:
				name = v
			case 2:
				eds = n == 3 // Cluster.EDS
			case 3:
				fields(v, func(num protowire.Number, v []byte, _ uint64) {
					if num == 2 {
						service = v
					}
				})
			}
		})
		if !eds {
			continue
		}
		if len(service) == 0 {
			service = name
		}
		out = append(out, s.f.intern(service))
	}
	slices.Sort(out)
	return out
}

// fields calls fn for each top-level field of a message: bytes fields with v, varints
// with n; other wire types are skipped.
func fields(b []byte, fn func(num protowire.Number, v []byte, n uint64)) {
	for len(b) > 0 {
		num, typ, l := protowire.ConsumeTag(b)
		if l < 0 {
			return
		}
		b = b[l:]
		switch typ {
		case protowire.BytesType:
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return
			}
			fn(num, v, 0)
			b = b[l:]
		case protowire.VarintType:
			n, l := protowire.ConsumeVarint(b)
			if l < 0 {
				return
			}
			fn(num, nil, n)
			b = b[l:]
		default:
			l := protowire.ConsumeFieldValue(num, typ, b)
			if l < 0 {
				return
			}
			b = b[l:]
		}
	}
}

// routeNames returns the sorted route configuration names the HTTP connection managers
// of an LDS response's listeners take from RDS.
func routeNames(resp *discoveryv3.DiscoveryResponse) ([]string, error) {
	out := []string{}
	for _, a := range resp.GetResources() {
		var l listenerv3.Listener
		if err := a.UnmarshalTo(&l); err != nil {
			return nil, err
		}
		out = append(out, xdsclient.RDSNames(&l)...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// churnEndpoints decodes the churn service's assignment when an EDS response carries
// it, and tells the tracker which endpoints came and went.
func (s *adsStream) churnEndpoints(resp *discoveryv3.DiscoveryResponse, at time.Time) error {
	for _, a := range resp.GetResources() {
		var name []byte
		fields(a.GetValue(), func(num protowire.Number, v []byte, _ uint64) {
			if num == 1 && name == nil {
				name = v
			}
		})
		if string(name) != cpChurnCluster {
			continue
		}
		var cla endpointv3.ClusterLoadAssignment
		if err := a.UnmarshalTo(&cla); err != nil {
			return err
		}
		now := map[string]bool{}
		for _, l := range cla.GetEndpoints() {
			for _, e := range l.GetLbEndpoints() {
				now[e.GetEndpoint().GetAddress().GetSocketAddress().GetAddress()] = true
			}
		}
		if s.f.churn != nil {
			s.f.churn.observe(s.churn, now, at)
		}
		s.churn = now
	}
	return nil
}

// churnTracker times each endpoint change of the churn service at every client.
type churnTracker struct {
	mu     sync.Mutex
	events map[churnKey]*churnEvent
}

type churnKey struct {
	ip    string
	added bool
}

// churnEvent is one WorkloadEntry added or removed: when its file changed, and how
// long each client took to see it.
type churnEvent struct {
	at   time.Time
	lats []time.Duration
}

func newChurnTracker() *churnTracker { return &churnTracker{events: map[churnKey]*churnEvent{}} }

// changed records that the file of the endpoint ip was written (added) or removed.
func (t *churnTracker) changed(ip string, added bool, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.events[churnKey{ip, added}] = &churnEvent{at: at}
}

// observe takes a client's endpoints before and after a response.
func (t *churnTracker) observe(before, now map[string]bool, at time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for ip := range now {
		if e := t.events[churnKey{ip, true}]; !before[ip] && e != nil {
			e.lats = append(e.lats, at.Sub(e.at))
		}
	}
	for ip := range before {
		if e := t.events[churnKey{ip, false}]; !now[ip] && e != nil {
			e.lats = append(e.lats, at.Sub(e.at))
		}
	}
}

// seen counts the (event, client) pairs observed so far.
func (t *churnTracker) seen() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, e := range t.events {
		n += len(e.lats)
	}
	return n
}
