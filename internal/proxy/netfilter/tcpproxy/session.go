package tcpproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftmesh/weft/internal/proxy/netfilter"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

type connCloser = net.Conn

var bufPool = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// session is one proxied connection.
type session struct {
	p        *Proxy
	down     *netfilter.Conn
	up       net.Conn
	info     *streaminfo.Info
	lastSeen atomic.Int64 // unix nanos of the last byte either way
	timedOut atomic.Bool
}

// run copies both ways. When one side finishes sending, the other side's write half
// is closed; the session ends when both are done, or on idle timeout.
func (s *session) run() {
	s.lastSeen.Store(time.Now().UnixNano())
	stop := make(chan struct{})
	if s.p.idle > 0 || s.p.maxDuration > 0 {
		go s.watch(stop)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		n := s.copy(s.up, s.down.Conn)
		s.info.BytesReceived = n
		s.p.st.rxBytes.Add(uint64(n))
	}()
	n := s.copy(s.down.Conn, s.up)
	s.info.BytesSent = n
	s.p.st.txBytes.Add(uint64(n))
	wg.Wait()
	close(stop)
	s.info.Mark(&s.info.LastDownstreamTxByte)
}

// copy moves bytes from src to dst until EOF or an error, then half-closes dst.
func (s *session) copy(dst, src net.Conn) int64 {
	bp := bufPool.Get().(*[]byte)
	defer bufPool.Put(bp)
	var total int64
	for {
		n, err := src.Read(*bp)
		if n > 0 {
			s.lastSeen.Store(time.Now().UnixNano())
			if _, werr := dst.Write((*bp)[:n]); werr != nil {
				src.Close()
				return total
			}
			total += int64(n)
		}
		if err != nil {
			if !errors.Is(err, io.EOF) {
				dst.Close()
				src.Close()
			} else if cw, ok := dst.(interface{ CloseWrite() error }); ok {
				cw.CloseWrite()
			} else {
				dst.Close()
			}
			return total
		}
	}
}

// watch closes both connections when they have been idle for the idle timeout or the
// connection has lived for max_downstream_connection_duration.
func (s *session) watch(stop <-chan struct{}) {
	tick := time.NewTicker(max(min(s.p.idle, time.Second)/4, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			idle := s.p.idle > 0 && now.Sub(time.Unix(0, s.lastSeen.Load())) > s.p.idle
			tooLong := s.p.maxDuration > 0 && now.Sub(s.info.Start) > s.p.maxDuration
			if !idle && !tooLong {
				continue
			}
			if idle {
				s.p.st.idleTimeout.Inc()
			} else {
				s.p.st.maxDuration.Inc()
				s.info.AddFlag(streaminfo.DurationTimeout)
			}
			s.timedOut.Store(true)
			s.down.Close()
			s.up.Close()
			return
		}
	}
}
