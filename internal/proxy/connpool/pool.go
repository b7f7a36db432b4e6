package connpool

import (
	"context"
	"errors"
	"fmt"
	"net"
	"time"
)

// ErrOverflow means the request could not even wait for a connection: the pending
// requests circuit breaker is full. The router answers 503 with UO.
var ErrOverflow = errors.New("pending requests overflow (circuit breaker max_pending_requests)")

// ErrClosed means the pool was shut down (its cluster or host went away).
var ErrClosed = errors.New("connection pool closed")

// ConnectError is a failed attempt to connect to the host. The router answers 503 with
// UF and logs Reason() as %UPSTREAM_TRANSPORT_FAILURE_REASON%.
type ConnectError struct {
	Err     error
	Timeout bool
}

func (e *ConnectError) Error() string { return "upstream connect error: " + e.Reason() }

func (e *ConnectError) Unwrap() error { return e.Err }

// Reason describes the failure in Envoy's words where there are some.
func (e *ConnectError) Reason() string {
	if e.Timeout {
		return "connection timeout"
	}
	var op *net.OpError
	if errors.As(e.Err, &op) && op.Err != nil {
		return fmt.Sprintf("delayed connect error: %v", op.Err)
	}
	return e.Err.Error()
}

// DialFunc opens a connection to the pool's host (TLS included when the cluster uses
// it). The context carries the connect timeout.
type DialFunc func(ctx context.Context) (net.Conn, error)

// Options configure a host's pool. Breaker and Stats are shared by every host of the
// cluster; Host is the host's own.
type Options struct {
	Dial           DialFunc
	ConnectTimeout time.Duration
	// MaxRequestsPerConnection closes a connection after that many requests (0: no limit).
	MaxRequestsPerConnection int
	// IdleTimeout closes connections idle for longer (0: never).
	IdleTimeout time.Duration
	// MaxConcurrentStreams caps HTTP/2 streams per connection (0: the upstream's limit).
	MaxConcurrentStreams int64
	Breaker              *Breaker
	// Stats returns the cluster's connection stats; the cluster may create them on
	// first use.
	Stats func() *Stats
	Host  *HostStats
}

// dial opens a connection under the connect timeout and counts it.
func (o *Options) dial(ctx context.Context) (net.Conn, error) {
	start := time.Now()
	dctx, cancel := context.WithTimeout(ctx, o.ConnectTimeout)
	defer cancel()
	o.Stats().CxTotal.Inc()
	o.Host.CxTotal.Add(1)
	c, err := o.Dial(dctx)
	if err != nil {
		o.Stats().CxConnectFail.Inc()
		o.Host.CxConnectFail.Add(1)
		timeout := errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil
		if timeout {
			o.Stats().CxConnectTimeout.Inc()
		}
		return nil, &ConnectError{Err: err, Timeout: timeout}
	}
	o.Stats().CxConnectMs.Record(uint64(time.Since(start).Milliseconds()))
	o.Stats().CxActive.Inc()
	o.Host.CxActive.Add(1)
	return c, nil
}

// closed counts a connection going away.
func (o *Options) closed(created time.Time, local bool) {
	o.Stats().CxDestroy.Inc()
	if local {
		o.Stats().CxDestroyLocal.Inc()
	} else {
		o.Stats().CxDestroyRemote.Inc()
	}
	o.Stats().CxActive.Dec()
	o.Host.CxActive.Add(-1)
	o.Stats().CxLengthMs.Record(uint64(time.Since(created).Milliseconds()))
	o.Breaker.Connections.Release()
}
