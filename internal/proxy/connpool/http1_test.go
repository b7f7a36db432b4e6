package connpool

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/stats"
)

// testPool returns a pool dialing a local listener that accepts and holds connections.
func testPool(t *testing.T, th Thresholds, maxReq int) (*HTTP1, *Stats, chan net.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	accepted := make(chan net.Conn, 16)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	store := stats.NewStore()
	st := NewStats(store.Scope("cluster.c."))
	var d net.Dialer
	p := NewHTTP1(Options{
		Dial:                     func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", ln.Addr().String()) },
		ConnectTimeout:           time.Second,
		MaxRequestsPerConnection: maxReq,
		Breaker:                  NewBreaker(th, store.Scope("cluster.c.circuit_breakers.default."), false, false),
		Stats:                    func() *Stats { return st },
		Host:                     &HostStats{},
	})
	t.Cleanup(p.Close)
	return p, st, accepted
}

func TestReuseAndPeerClose(t *testing.T) {
	p, st, accepted := testPool(t, DefaultThresholds, 0)
	c1, err := p.Acquire(context.Background())
	if err != nil || c1.Reused {
		t.Fatalf("first acquire: %v reused=%v", err, c1 != nil && c1.Reused)
	}
	server := <-accepted
	p.Release(c1, true)
	c2, _ := p.Acquire(context.Background())
	if c2 != c1 || !c2.Reused {
		t.Fatal("idle connection not reused")
	}
	p.Release(c2, true)
	// The upstream closes the idle connection: the next acquire sees it and dials anew.
	server.Close()
	time.Sleep(20 * time.Millisecond)
	c3, err := p.Acquire(context.Background())
	if err != nil || c3 == c1 || c3.Reused {
		t.Fatalf("acquire after peer close: %v, same=%v", err, c3 == c1)
	}
	if st.CxTotal.Value() != 2 || st.CxDestroyRemote.Value() != 1 {
		t.Errorf("cx_total %d destroy_remote %d", st.CxTotal.Value(), st.CxDestroyRemote.Value())
	}
	p.Release(c3, false)
}

func TestPendingAndOverflow(t *testing.T) {
	th := DefaultThresholds
	th.MaxConnections, th.MaxPendingRequests = 1, 1
	p, st, _ := testPool(t, th, 0)
	c1, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan *Conn)
	go func() {
		c, _ := p.Acquire(context.Background()) // waits as a pending request
		got <- c
	}()
	time.Sleep(20 * time.Millisecond)
	if _, err := p.Acquire(context.Background()); !errors.Is(err, ErrOverflow) {
		t.Errorf("third request: %v, want ErrOverflow", err)
	}
	p.Release(c1, true)
	if c := <-got; c != c1 {
		t.Error("the pending request did not get the released connection")
	}
	if st.RqPendingOverflow.Value() != 1 || st.RqPendingTotal.Value() != 1 || st.CxOverflow.Value() != 2 {
		t.Errorf("pending_overflow %d pending_total %d cx_overflow %d", st.RqPendingOverflow.Value(), st.RqPendingTotal.Value(), st.CxOverflow.Value())
	}
}

func TestPendingCancelled(t *testing.T) {
	th := DefaultThresholds
	th.MaxConnections = 1
	p, _, _ := testPool(t, th, 0)
	c1, _ := p.Acquire(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	if _, err := p.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("pending acquire past its deadline: %v", err)
	}
	p.Release(c1, true)
	if c, err := p.Acquire(context.Background()); err != nil || c != c1 {
		t.Errorf("connection lost after a cancelled waiter: %v", err)
	}
}

func TestMaxRequestsPerConnection(t *testing.T) {
	p, st, _ := testPool(t, DefaultThresholds, 2)
	c, _ := p.Acquire(context.Background())
	p.Release(c, true)
	c2, _ := p.Acquire(context.Background())
	p.Release(c2, true) // second request: the connection is retired
	c3, _ := p.Acquire(context.Background())
	if c3 == c {
		t.Error("connection reused past max_requests_per_connection")
	}
	if st.CxMaxRequests.Value() != 1 {
		t.Errorf("cx_max_requests = %d", st.CxMaxRequests.Value())
	}
}

func TestConnectFailure(t *testing.T) {
	store := stats.NewStore()
	st := NewStats(store.Scope("c."))
	p := NewHTTP1(Options{
		Dial: func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", "127.0.0.1:1")
		},
		ConnectTimeout: time.Second, Breaker: NewBreaker(DefaultThresholds, store.Scope("b."), false, false),
		Stats: func() *Stats { return st }, Host: &HostStats{},
	})
	_, err := p.Acquire(context.Background())
	var ce *ConnectError
	if !errors.As(err, &ce) || ce.Timeout {
		t.Fatalf("err = %v, want a ConnectError", err)
	}
	if st.CxConnectFail.Value() != 1 || p.opts.Breaker.Connections.Count() != 0 {
		t.Errorf("connect_fail %d, connections held %d", st.CxConnectFail.Value(), p.opts.Breaker.Connections.Count())
	}
}
