package ads

import (
	"context"
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/anypb"
)

// xdsClient is one ADS stream over the harness's real gRPC connection; a goroutine
// receives responses into a channel the test reads with timeouts.
type xdsClient[Req, Resp any] struct {
	t      testing.TB
	st     grpc.BidiStreamingClient[Req, Resp]
	resps  chan *Resp
	cancel context.CancelFunc
	done   chan struct{}
	err    error // why the stream ended, once done is closed
}

func newXDSClient[Req, Resp any](t testing.TB, open func(context.Context, ...grpc.CallOption) (grpc.BidiStreamingClient[Req, Resp], error)) *xdsClient[Req, Resp] {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := open(ctx)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	c := &xdsClient[Req, Resp]{t: t, st: st, resps: make(chan *Resp, 64), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(c.done)
		defer close(c.resps)
		for {
			r, err := st.Recv()
			if err != nil {
				c.err = err
				return
			}
			select {
			case c.resps <- r:
			case <-ctx.Done():
				return
			}
		}
	}()
	t.Cleanup(c.close)
	return c
}

// wait waits for the server to end the stream and returns its error.
func (c *xdsClient[Req, Resp]) wait() error {
	select {
	case <-c.done:
		return c.err
	case <-time.After(wait):
		c.t.Fatal("stream did not end")
	}
	return nil
}

// close ends the stream and waits for the receiving goroutine.
func (c *xdsClient[Req, Resp]) close() {
	c.cancel()
	<-c.done
}

func (c *xdsClient[Req, Resp]) send(r *Req) {
	c.t.Helper()
	if err := c.st.Send(r); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// recv returns the next response, failing the test if none comes.
func (c *xdsClient[Req, Resp]) recv() *Resp {
	c.t.Helper()
	select {
	case r, ok := <-c.resps:
		if !ok {
			c.t.Fatal("stream closed")
		}
		return r
	case <-time.After(wait):
		c.t.Fatal("no response")
	}
	return nil
}

// none fails the test if a response comes within quiet.
func (c *xdsClient[Req, Resp]) none() {
	c.t.Helper()
	select {
	case r, ok := <-c.resps:
		if ok {
			c.t.Fatalf("unexpected response: %v", r)
		}
	case <-time.After(quiet):
	}
}

type sotwClient struct {
	*xdsClient[discoveryv3.DiscoveryRequest, discoveryv3.DiscoveryResponse]
	node *corev3.Node
}

func (h *harness) sotw(n *corev3.Node) *sotwClient {
	return &sotwClient{xdsClient: newXDSClient(h.t, h.client.StreamAggregatedResources), node: n}
}

// request sends a DiscoveryRequest; the node goes on the first one only, as Envoy does.
func (c *sotwClient) request(typeURL string, names []string, version, nonce string) {
	c.send(&discoveryv3.DiscoveryRequest{Node: c.takeNode(), TypeUrl: typeURL, ResourceNames: names,
		VersionInfo: version, ResponseNonce: nonce})
}

func (c *sotwClient) takeNode() *corev3.Node {
	n := c.node
	c.node = nil
	return n
}

// subscribe opens a subscription and returns the first response.
func (c *sotwClient) subscribe(typeURL string, names ...string) *discoveryv3.DiscoveryResponse {
	c.t.Helper()
	c.request(typeURL, names, "", "")
	r := c.recv()
	if r.GetTypeUrl() != typeURL {
		c.t.Fatalf("response type %s, want %s", r.GetTypeUrl(), typeURL)
	}
	return r
}

// ack ACKs a response, keeping (or changing to) names.
func (c *sotwClient) ack(r *discoveryv3.DiscoveryResponse, names ...string) {
	c.request(r.GetTypeUrl(), names, r.GetVersionInfo(), r.GetNonce())
}

// nack rejects a response, reporting lastGood as the version still applied.
func (c *sotwClient) nack(r *discoveryv3.DiscoveryResponse, lastGood, msg string, names ...string) {
	c.send(&discoveryv3.DiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResourceNames: names, VersionInfo: lastGood,
		ResponseNonce: r.GetNonce(), ErrorDetail: &status.Status{Code: 3, Message: msg}})
}

type deltaClient struct {
	*xdsClient[discoveryv3.DeltaDiscoveryRequest, discoveryv3.DeltaDiscoveryResponse]
	node *corev3.Node
}

func (h *harness) delta(n *corev3.Node) *deltaClient {
	return &deltaClient{xdsClient: newXDSClient(h.t, h.client.DeltaAggregatedResources), node: n}
}

func (c *deltaClient) request(r *discoveryv3.DeltaDiscoveryRequest) {
	r.Node, c.node = c.node, nil
	c.send(r)
}

func (c *deltaClient) ack(r *discoveryv3.DeltaDiscoveryResponse) {
	c.request(&discoveryv3.DeltaDiscoveryRequest{TypeUrl: r.GetTypeUrl(), ResponseNonce: r.GetNonce()})
}

// names returns the names of the resources in a state-of-the-world response.
func names(t *testing.T, rs []*anypb.Any) []string {
	t.Helper()
	var out []string
	for _, a := range rs {
		m, err := a.UnmarshalNew()
		if err != nil {
			t.Fatal(err)
		}
		switch m := m.(type) {
		case *clusterv3.Cluster:
			out = append(out, m.GetName())
		case *endpointv3.ClusterLoadAssignment:
			out = append(out, m.GetClusterName())
		case *listenerv3.Listener:
			out = append(out, m.GetName())
		case *routev3.RouteConfiguration:
			out = append(out, m.GetName())
		}
	}
	slices.Sort(out)
	return out
}

// deltaNames returns the names of the resources in a delta response.
func deltaNames(r *discoveryv3.DeltaDiscoveryResponse) []string {
	var out []string
	for _, res := range r.GetResources() {
		out = append(out, res.GetName())
	}
	slices.Sort(out)
	return out
}
