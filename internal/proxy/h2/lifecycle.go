package h2

import (
	"errors"
	"time"

	"golang.org/x/net/http2"
)

// onRSTStream aborts the stream the client reset.
func (c *Conn) onRSTStream(f *http2.RSTStreamFrame) error {
	st := c.stream(f.StreamID)
	if st == nil {
		if c.idle(f.StreamID) {
			return http2.ConnectionError(ErrCodeProtocol)
		}
		return nil
	}
	st.abort(errPeerReset)
	return nil
}

// streamError resets stream id with code: RST_STREAM, and the stream's handler, if
// any, sees the stream aborted.
func (c *Conn) streamError(id uint32, code ErrCode) {
	if st := c.stream(id); st != nil {
		st.abort(errReset)
	}
	c.w.rst(id, code)
}

// goAway sends GOAWAY with code, naming the last stream the connection processes.
func (c *Conn) goAway(code ErrCode) {
	c.mu.Lock()
	c.goingAway = true
	last := c.maxID
	c.mu.Unlock()
	c.w.control(func(fr *http2.Framer) { fr.WriteGoAway(last, code, nil) })
}

// Shutdown starts a graceful close: GOAWAY, no new streams, and the connection closes
// once its streams are done, or after timeout (0: no bound) at the latest.
func (c *Conn) Shutdown(timeout time.Duration) {
	c.mu.Lock()
	already := c.goingAway
	c.mu.Unlock()
	if !already {
		c.goAway(ErrCodeNo)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.streams) == 0 {
		c.stopLocked(nil)
		return
	}
	if timeout > 0 && c.drainTimer == nil {
		c.drainTimer = time.AfterFunc(timeout, func() { c.stop(nil) })
	}
}

// idleCheck runs when the idle timer fires: a connection without streams for the
// idle timeout is closed with GOAWAY, any other checked again later.
func (c *Conn) idleCheck() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.stopping {
		return
	}
	next := c.cfg.IdleTimeout
	if len(c.streams) == 0 {
		idle := time.Since(c.idleSince)
		if idle >= c.cfg.IdleTimeout {
			c.goingAway = true
			last := c.maxID
			c.mu.Unlock()
			c.w.control(func(fr *http2.Framer) { fr.WriteGoAway(last, ErrCodeNo, nil) })
			c.mu.Lock()
			c.stopLocked(ErrIdleTimeout)
			return
		}
		next -= idle
	}
	c.idleTimer.Reset(next)
}

func (c *Conn) stop(err error) {
	c.mu.Lock()
	c.stopLocked(err)
	c.mu.Unlock()
}

// stopLocked makes the reader goroutine stop at once: its blocked read fails.
func (c *Conn) stopLocked(err error) {
	if c.stopping {
		return
	}
	c.stopping, c.stopErr = true, err
	c.nc.SetReadDeadline(time.Unix(1, 0))
}

// close ends the connection: every stream is aborted, their handlers are waited for,
// and what is left to write (GOAWAY) is flushed.
func (c *Conn) close(err error) {
	c.mu.Lock()
	c.stopping = true
	if c.idleTimer != nil {
		c.idleTimer.Stop()
	}
	if c.drainTimer != nil {
		c.drainTimer.Stop()
	}
	open := make([]*Stream, 0, len(c.streams))
	for _, st := range c.streams {
		open = append(open, st)
	}
	c.mu.Unlock()
	for _, st := range open {
		st.abort(errConnClosed)
	}
	c.wg.Wait()
	close(c.done)
	c.w.stop(err == nil || errors.Is(err, ErrIdleTimeout) || isConnError(err))
	c.recycle()
}

func isConnError(err error) bool {
	var ce http2.ConnectionError
	return errors.As(err, &ce)
}

// recycle returns the streams whose handlers finished to the pool. Only the reader
// goroutine calls it, between frames, so that it holds no stream it is recycling.
func (c *Conn) recycle() {
	c.mu.Lock()
	if len(c.free) == 0 {
		c.mu.Unlock()
		return
	}
	for i, st := range c.free {
		st.release()
		c.free[i] = nil
	}
	c.free = c.free[:0]
	c.mu.Unlock()
}

// streamDone removes a stream whose handler returned; reuse says whether nothing can
// touch it any more, so that it may go back to the pool.
func (c *Conn) streamDone(st *Stream, reuse bool) {
	c.mu.Lock()
	delete(c.streams, st.id)
	if reuse {
		c.free = append(c.free, st)
	}
	if len(c.streams) == 0 {
		if c.cfg.IdleTimeout > 0 {
			c.idleSince = time.Now()
		}
		if c.goingAway {
			c.stopLocked(nil)
		}
	}
	c.mu.Unlock()
}
