package h2

import (
	"bytes"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// FuzzConn feeds arbitrary frames, after the preface and SETTINGS, to a connection
// whose handler echoes bodies: it must neither panic nor hang.
func FuzzConn(f *testing.F) {
	seed := func(write func(fr *http2.Framer, block func(...string) []byte)) []byte {
		var b, hb bytes.Buffer
		enc := hpack.NewEncoder(&hb)
		fr := http2.NewFramer(&b, nil)
		fr.AllowIllegalWrites = true
		write(fr, func(pairs ...string) []byte {
			hb.Reset()
			for i := 0; i+1 < len(pairs); i += 2 {
				enc.WriteField(hpack.HeaderField{Name: pairs[i], Value: pairs[i+1]})
			}
			return append([]byte(nil), hb.Bytes()...)
		})
		return b.Bytes()
	}
	get := []string{":method", "GET", ":scheme", "http", ":path", "/", ":authority", "a"}
	f.Add(seed(func(fr *http2.Framer, block func(...string) []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: block(get...), EndStream: true, EndHeaders: true})
	}))
	f.Add(seed(func(fr *http2.Framer, block func(...string) []byte) {
		b := block(append(get, "content-length", "3")...)
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: b[:3]})
		fr.WriteContinuation(1, true, b[3:])
		fr.WriteData(1, false, []byte("ab"))
		fr.WriteWindowUpdate(1, 10)
		fr.WriteData(1, true, []byte("c"))
		fr.WritePing(false, [8]byte{1})
		fr.WriteRSTStream(1, http2.ErrCodeCancel)
	}))
	f.Add(seed(func(fr *http2.Framer, block func(...string) []byte) {
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block(append(get, "x", "y")...), EndHeaders: true})
		fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 3, BlockFragment: block("t", "v"), EndStream: true, EndHeaders: true})
		fr.WriteSettings(http2.Setting{ID: http2.SettingInitialWindowSize, Val: 1})
		fr.WriteGoAway(3, http2.ErrCodeNo, nil)
	}))
	var prefix bytes.Buffer
	prefix.WriteString(Preface)
	http2.NewFramer(&prefix, nil).WriteSettings()
	f.Fuzz(func(t *testing.T, frames []byte) {
		in := append(append([]byte(nil), prefix.Bytes()...), frames...)
		conn := NewConn(nopConn{}, bytes.NewReader(in), Config{MaxHeaderBytes: 4096, MaxConcurrentStreams: 8}, echo)
		done := make(chan struct{})
		go func() { conn.Serve(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Serve hung")
		}
	})
}
