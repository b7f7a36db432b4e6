package h2

import (
	"bytes"
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// frame is a frame as the test client saw it, copied out of the Framer.
type frame struct {
	typ       http2.FrameType
	stream    uint32
	end       bool // END_STREAM
	ack       bool
	data      []byte
	fields    []hpack.HeaderField
	code      http2.ErrCode
	increment uint32
	lastID    uint32
}

// client is a raw HTTP/2 client talking to a Conn over an in-memory pipe.
type client struct {
	t      *testing.T
	nc     net.Conn
	fr     *http2.Framer
	enc    *hpack.Encoder
	hbuf   bytes.Buffer
	frames chan frame
	served chan error
}

// newClient starts a Conn with cfg and h and returns a client that sent the preface
// and empty SETTINGS, and read the server's SETTINGS.
func newClient(t *testing.T, cfg Config, h Handler) *client {
	t.Helper()
	cn, sn := net.Pipe()
	c := &client{t: t, nc: cn, frames: make(chan frame, 256), served: make(chan error, 1)}
	c.fr = http2.NewFramer(cn, cn)
	c.fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	c.fr.MaxHeaderListSize = 1 << 20
	c.enc = hpack.NewEncoder(&c.hbuf)
	conn := NewConn(sn, sn, cfg, h)
	go func() { c.served <- conn.Serve(); sn.Close() }()
	go c.readLoop()
	t.Cleanup(func() { cn.Close() })
	if _, err := io.WriteString(cn, Preface); err != nil {
		t.Fatal(err)
	}
	c.fr.WriteSettings()
	if f := c.next(); f.typ != http2.FrameSettings || f.ack {
		t.Fatalf("first frame %+v, want SETTINGS", f)
	}
	return c
}

func (c *client) readLoop() {
	defer close(c.frames)
	for {
		f, err := c.fr.ReadFrame()
		if err != nil {
			return
		}
		out := frame{typ: f.Header().Type, stream: f.Header().StreamID}
		switch f := f.(type) {
		case *http2.DataFrame:
			out.end, out.data = f.StreamEnded(), append([]byte(nil), f.Data()...)
		case *http2.MetaHeadersFrame:
			out.end, out.fields = f.StreamEnded(), append([]hpack.HeaderField(nil), f.Fields...)
		case *http2.SettingsFrame:
			out.ack = f.IsAck()
		case *http2.PingFrame:
			out.ack, out.data = f.IsAck(), append([]byte(nil), f.Data[:]...)
		case *http2.RSTStreamFrame:
			out.code = f.ErrCode
		case *http2.GoAwayFrame:
			out.code, out.lastID = f.ErrCode, f.LastStreamID
		case *http2.WindowUpdateFrame:
			out.increment = f.Increment
		}
		c.frames <- out
	}
}

// next returns the next frame other than SETTINGS acks and WINDOW_UPDATEs on the
// connection.
func (c *client) next() frame {
	c.t.Helper()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				c.t.Fatal("connection closed")
			}
			if (f.typ == http2.FrameSettings && f.ack) || (f.typ == http2.FrameWindowUpdate && f.stream == 0) {
				continue
			}
			return f
		case <-time.After(5 * time.Second):
			c.t.Fatal("no frame within 5s")
		}
	}
}

// nextOf skips frames until one of type typ.
func (c *client) nextOf(typ http2.FrameType) frame {
	c.t.Helper()
	for {
		if f := c.next(); f.typ == typ {
			return f
		}
	}
}

// block encodes header fields as name, value pairs.
func (c *client) block(pairs ...string) []byte {
	c.hbuf.Reset()
	for i := 0; i+1 < len(pairs); i += 2 {
		c.enc.WriteField(hpack.HeaderField{Name: pairs[i], Value: pairs[i+1]})
	}
	return append([]byte(nil), c.hbuf.Bytes()...)
}

func (c *client) headers(id uint32, end bool, pairs ...string) {
	c.t.Helper()
	err := c.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: c.block(pairs...), EndStream: end, EndHeaders: true})
	if err != nil {
		c.t.Fatal(err)
	}
}

// get sends a GET on stream id.
func (c *client) get(id uint32, extra ...string) {
	c.t.Helper()
	c.headers(id, true, append([]string{":method", "GET", ":scheme", "http", ":authority", "a.test", ":path", "/p"}, extra...)...)
}

// goAway waits for the connection's GOAWAY and its end, returning Serve's error.
func (c *client) goAway(code http2.ErrCode) error {
	c.t.Helper()
	if f := c.nextOf(http2.FrameGoAway); f.code != code {
		c.t.Fatalf("GOAWAY %v, want %v", f.code, code)
	}
	return c.wait()
}

// wait returns Serve's error once it returned.
func (c *client) wait() error {
	c.t.Helper()
	go func() {
		for range c.frames {
		}
	}()
	select {
	case err := <-c.served:
		return err
	case <-time.After(5 * time.Second):
		c.t.Fatal("Serve did not return")
	}
	return nil
}

func isConnErr(err error, code http2.ErrCode) bool {
	var ce http2.ConnectionError
	return errors.As(err, &ce) && http2.ErrCode(ce) == code
}

// fieldMap turns decoded fields into a map of the last value per name.
func fieldMap(fs []hpack.HeaderField) map[string]string {
	m := map[string]string{}
	for _, f := range fs {
		m[f.Name] = f.Value
	}
	return m
}
