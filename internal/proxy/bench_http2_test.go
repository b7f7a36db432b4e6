package proxy_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"testing"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// h2Client is a raw HTTP/2 client with prior knowledge: it sends one pre-encoded GET
// per stream and reads responses without decoding them, so that it allocates nothing
// per request and benchmark allocations are the proxy's.
type h2Client struct {
	c      net.Conn
	fr     *http2.Framer
	block  []byte
	next   uint32
	window int64 // connection window left to the server
}

const h2ClientWindow = 1 << 30

func newH2Client(tb testing.TB, addr, host string) *h2Client {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	for _, f := range [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", host}, {":path", "/productpage"}, {"user-agent", "bench"}} {
		enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	h := &h2Client{c: c, fr: http2.NewFramer(c, c), block: hb.Bytes(), next: 1, window: h2ClientWindow}
	io.WriteString(c, http2.ClientPreface)
	h.fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: h2ClientWindow})
	h.fr.WriteWindowUpdate(0, h2ClientWindow-65535)
	return h
}

// send opens a stream with the GET.
func (h *h2Client) send() error {
	id := h.next
	h.next += 2
	return h.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: id, BlockFragment: h.block, EndStream: true, EndHeaders: true})
}

// read reads frames until a stream ends, and returns its status frame count check.
func (h *h2Client) read() error {
	for {
		f, err := h.fr.ReadFrame()
		if err != nil {
			return err
		}
		switch f := f.(type) {
		case *http2.DataFrame:
			h.window -= int64(f.Length)
			if h.window < h2ClientWindow/2 {
				h.fr.WriteWindowUpdate(0, uint32(h2ClientWindow-h.window))
				h.window = h2ClientWindow
			}
			if f.StreamEnded() {
				return nil
			}
		case *http2.HeadersFrame:
			if f.StreamEnded() {
				return nil
			}
		case *http2.SettingsFrame:
			if !f.IsAck() {
				h.fr.WriteSettingsAck()
			}
		case *http2.RSTStreamFrame:
			return fmt.Errorf("stream %d reset: %v", f.StreamID, f.ErrCode)
		case *http2.GoAwayFrame:
			return fmt.Errorf("GOAWAY %v", f.ErrCode)
		}
	}
}

// run sends n requests keeping up to streams of them in flight.
func (h *h2Client) run(n, streams int) error {
	sent, done := 0, 0
	for ; sent < min(n, streams); sent++ {
		if err := h.send(); err != nil {
			return err
		}
	}
	for done < n {
		if err := h.read(); err != nil {
			return err
		}
		done++
		if sent < n {
			if err := h.send(); err != nil {
				return err
			}
			sent++
		}
	}
	return nil
}

// BenchmarkHTTP2 measures GETs with 1 KiB responses from an HTTP/1 upstream through
// one weft hop over cleartext HTTP/2: one stream at a time, and 16 in flight on the
// connection (h2load -m 16's load).
func BenchmarkHTTP2(b *testing.B) {
	for _, streams := range []int{1, 16} {
		b.Run(fmt.Sprintf("streams-%d", streams), func(b *testing.B) {
			h := newH2Client(b, benchProxy(b), "up")
			if err := h.run(streams, streams); err != nil { // warm the connections
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			if err := h.run(b.N, streams); err != nil {
				b.Fatal(err)
			}
		})
	}
}
