package xdsclient

import (
	"context"
	"slices"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	statuspb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
)

// sotwStream is the part of the ADS stream the state-of-the-world session uses.
type sotwStream interface {
	Send(*discoveryv3.DiscoveryRequest) error
	Recv() (*discoveryv3.DiscoveryResponse, error)
}

// sotwSession runs a state-of-the-world ADS stream: subscribe, then for each response
// apply and ACK, or NACK keeping the last good config.
func (c *Client) sotwSession(ctx context.Context, ads discoveryv3.AggregatedDiscoveryServiceClient) error {
	stream, err := ads.StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	c.st.connected.Set(1)
	s := &sotw{c: c, stream: stream, first: true}
	if err := s.subscribeAll(); err != nil {
		return err
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			return err
		}
		if err := s.handle(ctx, resp); err != nil {
			return err
		}
	}
}

type sotw struct {
	c      *Client
	stream sotwStream
	first  bool
}

// subscribeAll sends the opening requests: CDS and LDS as wildcards, and the named
// types with the names already known (after a reconnect, with their versions).
func (s *sotw) subscribeAll() error {
	c := s.c
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, url := range typeOrder {
		st := c.types[url]
		st.nonce = ""
		if wildcard(url) || len(st.names) > 0 {
			if err := s.send(st, nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// send sends a request for a type: an ACK of its last accepted version, or, with
// nackErr, a NACK carrying the error.
func (s *sotw) send(st *typeState, nackErr error) error {
	req := &discoveryv3.DiscoveryRequest{TypeUrl: st.url, VersionInfo: st.version, ResponseNonce: st.nonce, ResourceNames: st.names}
	if s.first {
		req.Node = s.c.opts.Node
		s.first = false
	}
	if nackErr != nil {
		req.ErrorDetail = &statuspb.Status{Code: int32(codes.InvalidArgument), Message: nackErr.Error()}
	}
	return s.stream.Send(req)
}

// handle applies one response and answers it.
func (s *sotw) handle(ctx context.Context, resp *discoveryv3.DiscoveryResponse) error {
	c := s.c
	c.mu.Lock()
	st, ok := c.types[resp.GetTypeUrl()]
	if !ok {
		c.mu.Unlock()
		return nil // a type never asked for: ignore
	}
	st.nonce = resp.GetNonce()
	ts := c.st.byType[st.url]
	ts.attempt.Inc()
	res, err := decode(st.url, resp.GetResources())
	if err == nil {
		err = c.apply(ctx, st.url, res, wildcard(st.url), nil)
	}
	if err != nil {
		ts.rejected.Inc()
		delay := st.nackDelay(resp.GetVersionInfo())
		c.mu.Unlock()
		if delay == 0 {
			c.log.Warn("xds update rejected", "type", shortName(st.url), "version", resp.GetVersionInfo(), "error", err)
		}
		if !sleep(ctx, delay) {
			return ctx.Err()
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		return s.send(st, err)
	}
	defer c.mu.Unlock()
	st.nacks = 0
	st.version, st.received = resp.GetVersionInfo(), true
	ts.accepted(st.version, time.Now().UnixMilli())
	if err := s.send(st, nil); err != nil {
		return err
	}
	c.checkReady()
	return s.resubscribe()
}

// sleep waits d unless ctx ends first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// resubscribe updates the EDS and RDS subscriptions after the clusters or listeners
// changed.
func (s *sotw) resubscribe() error {
	eds, rds := s.c.subscriptions()
	for url, names := range map[string][]string{EndpointType: eds, RouteType: rds} {
		st := s.c.types[url]
		if slices.Equal(st.names, names) || (len(names) == 0 && len(st.names) == 0) {
			continue
		}
		st.names = names
		if err := s.send(st, nil); err != nil {
			return err
		}
	}
	return nil
}

// checkReady marks the client ready once clusters and listeners arrived and nothing
// is warming. c.mu is held.
func (c *Client) checkReady() {
	if c.types[ClusterType].received && c.types[ListenerType].received &&
		len(c.pending.clusters) == 0 && len(c.pending.listeners) == 0 {
		c.markReady()
	}
}
