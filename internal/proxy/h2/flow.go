package h2

import (
	"golang.org/x/net/http2"
)

// onSettings applies the client's SETTINGS and acknowledges them.
func (c *Conn) onSettings(f *http2.SettingsFrame) error {
	if f.IsAck() {
		return nil
	}
	if err := f.ForeachSetting(func(s http2.Setting) error { return s.Valid() }); err != nil {
		return err
	}
	if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
		if err := c.setInitialWindow(int32(v)); err != nil {
			return err
		}
	}
	w := &c.w
	w.mu.Lock()
	if v, ok := f.Value(http2.SettingMaxFrameSize); ok {
		w.maxFrame = v
	}
	if v, ok := f.Value(http2.SettingHeaderTableSize); ok {
		w.enc.SetMaxDynamicTableSizeLimit(v)
	}
	w.mu.Unlock()
	return w.control(func(fr *http2.Framer) { fr.WriteSettingsAck() })
}

// setInitialWindow applies a new SETTINGS_INITIAL_WINDOW_SIZE to every stream's send
// window (RFC 9113 §6.9.2).
func (c *Conn) setInitialWindow(v int32) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := &c.w
	w.mu.Lock()
	defer w.mu.Unlock()
	delta := v - w.initialWindow
	w.initialWindow = v
	for _, st := range c.streams {
		if int64(st.sendWindow)+int64(delta) > maxWindow {
			return http2.ConnectionError(ErrCodeFlowControl)
		}
		st.sendWindow += delta
	}
	w.cond.Broadcast()
	return nil
}

// onWindowUpdate opens a send window; past 2^31-1 it is a flow-control error.
func (c *Conn) onWindowUpdate(f *http2.WindowUpdateFrame) error {
	inc := int64(f.Increment)
	w := &c.w
	if f.StreamID == 0 {
		w.mu.Lock()
		defer w.mu.Unlock()
		if int64(w.sendWindow)+inc > maxWindow {
			return http2.ConnectionError(ErrCodeFlowControl)
		}
		w.sendWindow += int32(inc)
		w.cond.Broadcast()
		return nil
	}
	st := c.stream(f.StreamID)
	if st == nil {
		if c.idle(f.StreamID) {
			return http2.ConnectionError(ErrCodeProtocol)
		}
		return nil
	}
	w.mu.Lock()
	overflow := int64(st.sendWindow)+inc > maxWindow
	if !overflow {
		st.sendWindow += int32(inc)
		w.cond.Broadcast()
	}
	w.mu.Unlock()
	if overflow {
		return http2.StreamError{StreamID: f.StreamID, Code: ErrCodeFlowControl}
	}
	return nil
}

// onData takes a DATA frame's bytes into its stream's body, within flow control.
func (c *Conn) onData(f *http2.DataFrame) error {
	id, n := f.StreamID, int32(f.Length)
	c.mu.Lock()
	if n > c.recvWindow {
		c.mu.Unlock()
		return http2.ConnectionError(ErrCodeFlowControl)
	}
	c.recvWindow -= n
	st, idle := c.streams[id], id > c.maxID
	c.mu.Unlock()
	data := f.Data()
	if pad := n - int32(len(data)); pad > 0 {
		c.credit(pad)
	}
	if st == nil {
		c.credit(int32(len(data)))
		if idle {
			return http2.ConnectionError(ErrCodeProtocol)
		}
		return http2.StreamError{StreamID: id, Code: ErrCodeStreamClose}
	}
	return st.receive(data, n, f.StreamEnded())
}

// credit returns n bytes of connection window to the client once enough have
// accumulated.
func (c *Conn) credit(n int32) {
	if n <= 0 {
		return
	}
	c.mu.Lock()
	c.unacked += n
	inc := int32(0)
	if c.unacked >= int32(c.cfg.ConnWindow/4) || c.unacked >= 1<<20 {
		inc, c.unacked = c.unacked, 0
		c.recvWindow += inc
	}
	c.mu.Unlock()
	if inc > 0 {
		c.w.windowUpdate(0, uint32(inc))
	}
}
