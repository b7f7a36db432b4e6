package xdsclient

import (
	"context"
	"slices"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/anypb"
)

// deltaStream is the part of a delta ADS stream the session uses.
type deltaStream interface {
	Send(*discoveryv3.DeltaDiscoveryRequest) error
	Recv() (*discoveryv3.DeltaDiscoveryResponse, error)
}

// deltaSession runs an incremental ADS stream: responses carry only the resources that
// changed and the names of those removed.
func (c *Client) deltaSession(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient) error {
	stream, err := ads.DeltaAggregatedResources(ctx)
	if err != nil {
		return err
	}
	c.st.connected.Set(1)
	d := &delta{c: c, stream: stream, first: true}
	if err := d.subscribeAll(); err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if err := d.handle(ctx, resp); err != nil {
			return err
		}
	}
}

type delta struct {
	c      *Client
	stream deltaStream
	first  bool
}

// subscribeAll opens the stream: wildcards for CDS and LDS, named subscriptions for the
// rest, each with the versions already held so that the server sends only changes.
func (d *delta) subscribeAll() error {
	c := d.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, url := range typeOrder {
		st := c.types[url]
		if !wildcard(url) && len(st.names) == 0 {
			continue
		}
		req := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: url, ResourceNamesSubscribe: st.names, InitialResourceVersions: copyMap(st.known)}
		if err := d.send(req); err != nil {
			return err
		}
	}
	return nil
}

func (d *delta) send(req *discoveryv3.DeltaDiscoveryRequest) error {
	if d.first {
		req.Node = d.c.opts.Node
		d.first = false
	}
	return d.stream.Send(req)
}

// handle applies one delta response and ACKs or NACKs it.
func (d *delta) handle(ctx context.Context, resp *discoveryv3.DeltaDiscoveryResponse) error {
	c := d.c
	c.mu.Lock()
	st, ok := c.types[resp.GetTypeUrl()]
	if !ok {
		c.mu.Unlock()
		return nil
	}
	ts := c.st.byType[st.url]
	ts.attempt.Inc()
	anys := make([]*anypb.Any, 0, len(resp.GetResources()))
	for _, r := range resp.GetResources() {
		anys = append(anys, r.GetResource())
	}
	res, err := decode(st.url, anys)
	if err == nil {
		err = c.apply(ctx, st.url, res, false, resp.GetRemovedResources())
	}
	ack := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: st.url, ResponseNonce: resp.GetNonce()}
	if err != nil {
		ts.rejected.Inc()
		delay := st.nackDelay(resp.GetSystemVersionInfo() + resp.GetNonce())
		c.mu.Unlock()
		c.log.Warn("xds delta update rejected", "type", shortName(st.url), "error", err)
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
		ack.ErrorDetail = &statuspb.Status{Code: int32(codes.InvalidArgument), Message: err.Error()}
		c.mu.Lock()
		defer c.mu.Unlock()
		return d.send(ack)
	}
	defer c.mu.Unlock()
	for _, r := range resp.GetResources() {
		st.known[r.GetName()] = r.GetVersion()
	}
	for _, n := range resp.GetRemovedResources() {
		delete(st.known, n)
	}
	st.version, st.received, st.nacks = resp.GetSystemVersionInfo(), true, 0
	ts.accepted(st.version, time.Now().UnixMilli())
	if err := d.send(ack); err != nil {
		return err
	}
	c.checkReady()
	return d.resubscribe()
}

// resubscribe sends subscribe/unsubscribe changes for EDS and RDS names.
func (d *delta) resubscribe() error {
	eds, rds := d.c.subscriptions()
	for url, names := range map[string][]string{EndpointType: eds, RouteType: rds} {
		st := d.c.types[url]
		if slices.Equal(st.names, names) {
			continue
		}
		added, removed := diffNames(st.names, names)
		st.names = names
		for _, n := range removed {
			delete(st.known, n)
		}
		req := &discoveryv3.DeltaDiscoveryRequest{TypeUrl: url, ResourceNamesSubscribe: added, ResourceNamesUnsubscribe: removed}
		if err := d.send(req); err != nil {
			return err
		}
	}
	return nil
}

// diffNames returns the names in next but not prev, and in prev but not next.
func diffNames(prev, next []string) (added, removed []string) {
	for _, n := range next {
		if !slices.Contains(prev, n) {
			added = append(added, n)
		}
	}
	for _, n := range prev {
		if !slices.Contains(next, n) {
			removed = append(removed, n)
		}
	}
	return added, removed
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
