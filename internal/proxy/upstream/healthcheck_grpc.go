package upstream

import (
	"context"
	"fmt"
	"net"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// grpcCheck is a validated GrpcHealthCheck.
type grpcCheck struct {
	service, authority string
	md                 metadata.MD
}

func grpcProber(c *Cluster, gh *corev3.HealthCheck_GrpcHealthCheck) (func(*healthChecker, *Host) probe, error) {
	gc := &grpcCheck{service: gh.GetServiceName(), authority: gh.GetAuthority(), md: metadata.MD{}}
	if gc.authority == "" {
		gc.authority = c.name // Envoy's default :authority
	}
	for i, o := range gh.GetInitialMetadata() {
		k, v := o.GetHeader().GetKey(), o.GetHeader().GetValue()
		if k == "" || k[0] == ':' {
			return nil, fmt.Errorf("initial_metadata[%d].header.key: %q cannot be set", i, k)
		}
		gc.md.Append(k, v)
	}
	return func(k *healthChecker, h *Host) probe { return &grpcProbe{k: k, h: h, gc: gc} }, nil
}

// grpcProbe calls grpc.health.v1.Health/Check on one host over a client connection
// it keeps while checks pass and reuse_connection allows. After a failure the
// connection is dropped, so that the next check connects afresh rather than waiting
// out gRPC's reconnect backoff.
type grpcProbe struct {
	k  *healthChecker
	h  *Host
	gc *grpcCheck
	cc *grpc.ClientConn
}

// check passes when the answer is SERVING. Another answer or an error status from
// the server fails at once; Unavailable, DeadlineExceeded and Canceled (no usable
// connection, or the timeout) are network failures.
func (p *grpcProbe) check(ctx context.Context) hcResult {
	if p.cc == nil {
		cc, err := grpc.NewClient("passthrough:///"+p.h.Address().String(),
			grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return p.k.dial(ctx, p.h) }),
			grpc.WithTransportCredentials(insecure.NewCredentials()),
			grpc.WithAuthority(p.gc.authority),
			grpc.WithUserAgent("Envoy/HC"),
			grpc.WithDisableServiceConfig())
		if err != nil {
			return hcNetwork
		}
		p.cc = cc
	}
	ctx = metadata.NewOutgoingContext(ctx, p.gc.md)
	resp, err := healthpb.NewHealthClient(p.cc).Check(ctx, &healthpb.HealthCheckRequest{Service: p.gc.service})
	r := hcSuccess
	switch {
	case err != nil:
		r = hcFailed
		switch status.Code(err) {
		case codes.Unavailable, codes.DeadlineExceeded, codes.Canceled:
			r = hcNetwork
		}
	case resp.GetStatus() != healthpb.HealthCheckResponse_SERVING:
		r = hcFailed
	}
	if r != hcSuccess || !p.k.cfg.reuse {
		p.close()
	}
	return r
}

func (p *grpcProbe) close() {
	if p.cc != nil {
		p.cc.Close()
		p.cc = nil
	}
}
