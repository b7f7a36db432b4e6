package h2

import (
	"bytes"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// TestRequestFlowControl: the client may send the advertised stream window; reading it
// returns credit with WINDOW_UPDATE; sending past it is a stream error.
func TestRequestFlowControl(t *testing.T) {
	read := make(chan struct{})
	c := newClient(t, Config{StreamWindow: 100}, HandlerFunc(func(st *Stream) {
		<-read
		buf := make([]byte, 100)
		io.ReadFull(st, buf)
		<-read
		io.ReadAll(st)
	}))
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/")
	c.fr.WriteData(1, false, make([]byte, 100))
	read <- struct{}{}
	if f := c.nextOf(http2.FrameWindowUpdate); f.stream != 1 || f.increment != 100 {
		t.Fatalf("got %+v, want WINDOW_UPDATE 100 on stream 1", f)
	}
	c.fr.WriteData(1, false, make([]byte, 100))
	c.fr.WriteData(1, false, make([]byte, 1))
	if f := c.nextOf(http2.FrameRSTStream); f.stream != 1 || f.code != http2.ErrCodeFlowControl {
		t.Errorf("got %+v, want RST_STREAM FLOW_CONTROL_ERROR", f)
	}
	close(read)
}

// TestConnectionFlowControl: DATA past the connection window is a connection error,
// even spread over streams.
func TestConnectionFlowControl(t *testing.T) {
	c := newClient(t, Config{StreamWindow: 1 << 20, ConnWindow: 65535}, HandlerFunc(untilAborted))
	for id := uint32(1); id <= 5; id += 2 { // writes fail once the server closed
		c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block(":method", "POST", ":scheme", "http", ":path", "/"), EndHeaders: true})
		for i := 0; i < 2; i++ {
			c.fr.WriteData(id, false, make([]byte, 16384))
		}
	}
	if err := c.goAway(http2.ErrCodeFlowControl); !isConnErr(err, http2.ErrCodeFlowControl) {
		t.Errorf("Serve returned %v", err)
	}
}

// TestResponseFlowControl: the response body waits for the client's windows: the
// stream's initial window from SETTINGS, then WINDOW_UPDATE.
func TestResponseFlowControl(t *testing.T) {
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
		h := header.Of(":status", "200")
		st.WriteHeaders(&h, false)
		st.Write([]byte(strings.Repeat("a", 25)))
		st.End(nil)
	}))
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 10})
	c.get(1)
	c.nextOf(http2.FrameHeaders)
	if d := c.next(); d.typ != http2.FrameData || len(d.data) != 10 || d.end {
		t.Fatalf("got %+v, want 10 bytes of DATA", d)
	}
	c.fr.WriteWindowUpdate(1, 100)
	var body bytes.Buffer
	for {
		d := c.nextOf(http2.FrameData)
		body.Write(d.data)
		if d.end {
			break
		}
	}
	if body.Len() != 15 {
		t.Errorf("rest of the body %d bytes, want 15", body.Len())
	}
}

// TestResponseFrameSize: DATA and header blocks are split at the client's max frame
// size (CONTINUATION for a large head).
func TestResponseFrameSize(t *testing.T) {
	c := newClient(t, Config{}, HandlerFunc(func(st *Stream) {
		h := header.Of(":status", "200", "big", strings.Repeat("h", 40000))
		st.WriteHeaders(&h, false)
		st.Write(make([]byte, 40000))
		st.End(nil)
	}))
	c.fr.WriteWindowUpdate(0, 1<<20)
	c.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1 << 20})
	c.get(1)
	h := c.nextOf(http2.FrameHeaders)
	if len(fieldMap(h.fields)["big"]) != 40000 {
		t.Fatalf("large header lost")
	}
	n := 0
	for {
		d := c.nextOf(http2.FrameData)
		if len(d.data) > 16384 {
			t.Fatalf("DATA frame of %d bytes, over the 16384 default", len(d.data))
		}
		n += len(d.data)
		if d.end {
			break
		}
	}
	if n != 40000 {
		t.Errorf("body %d bytes", n)
	}
}

// TestStreamWindowOverflow: a WINDOW_UPDATE taking a stream's window past 2^31-1 is a
// stream error.
func TestStreamWindowOverflow(t *testing.T) {
	c := newClient(t, Config{}, HandlerFunc(untilAborted))
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/")
	c.fr.WriteWindowUpdate(1, 1<<31-1)
	if f := c.next(); f.typ != http2.FrameRSTStream || f.code != http2.ErrCodeFlowControl {
		t.Errorf("got %+v, want RST_STREAM FLOW_CONTROL_ERROR", f)
	}
}

// TestZeroWindowUpdate: an increment of 0 is a stream error on a stream, a connection
// error on the connection.
func TestZeroWindowUpdate(t *testing.T) {
	c := newClient(t, Config{}, HandlerFunc(untilAborted))
	c.fr.AllowIllegalWrites = true
	c.headers(1, false, ":method", "POST", ":scheme", "http", ":path", "/")
	c.fr.WriteWindowUpdate(1, 0)
	if f := c.next(); f.typ != http2.FrameRSTStream || f.code != http2.ErrCodeProtocol {
		t.Errorf("got %+v, want RST_STREAM PROTOCOL_ERROR", f)
	}
	c.fr.WriteWindowUpdate(0, 0)
	if err := c.goAway(http2.ErrCodeProtocol); !isConnErr(err, http2.ErrCodeProtocol) {
		t.Errorf("Serve returned %v", err)
	}
}

// untilAborted is a handler that waits for its stream to be aborted.
func untilAborted(st *Stream) {
	cn := make(canceler)
	st.SetCanceler(cn)
	<-cn
}

// nopConn is a net.Conn whose writes go nowhere; reads come from the Conn's reader.
type nopConn struct{}

func (nopConn) Read([]byte) (int, error)         { return 0, io.EOF }
func (nopConn) Write(p []byte) (int, error)      { return len(p), nil }
func (nopConn) Close() error                     { return nil }
func (nopConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (nopConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (nopConn) SetDeadline(time.Time) error      { return nil }
func (nopConn) SetReadDeadline(time.Time) error  { return nil }
func (nopConn) SetWriteDeadline(time.Time) error { return nil }
