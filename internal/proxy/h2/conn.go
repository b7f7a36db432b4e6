package h2

import (
	"bufio"
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Preface is the client connection preface.
const Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

const (
	defaultWindow    = 65535 // RFC 9113 §6.9.2
	defaultFrameSize = 16384
	maxWindow        = 1<<31 - 1
	// maxIdleWorkers is how many stream goroutines a connection keeps waiting for its
	// next stream: they keep the stack the filter chain grew, which a new goroutine
	// would grow again.
	maxIdleWorkers = 16
	// readBufferSize is the connection's read buffer: frames are read from it, so a
	// burst of small frames costs one read.
	readBufferSize = 16 << 10
)

// ErrIdleTimeout is returned by Serve when the connection had no stream for the idle
// timeout.
var ErrIdleTimeout = errors.New("h2: idle timeout")

// ErrCode is an HTTP/2 error code.
type ErrCode = http2.ErrCode

// Error codes the connection sends.
const (
	ErrCodeNo          = http2.ErrCodeNo
	ErrCodeProtocol    = http2.ErrCodeProtocol
	ErrCodeInternal    = http2.ErrCodeInternal
	ErrCodeFlowControl = http2.ErrCodeFlowControl
	ErrCodeStreamClose = http2.ErrCodeStreamClosed
	ErrCodeFrameSize   = http2.ErrCodeFrameSize
	ErrCodeRefused     = http2.ErrCodeRefusedStream
	ErrCodeCompression = http2.ErrCodeCompression
	ErrCodeCalm        = http2.ErrCodeEnhanceYourCalm
)

// Config is what a connection advertises in its SETTINGS and enforces. Zero values
// take the defaults noted.
type Config struct {
	// MaxConcurrentStreams bounds the streams open at once (default 1024).
	MaxConcurrentStreams uint32
	// StreamWindow is the receive window of each stream (default 65535).
	StreamWindow uint32
	// ConnWindow is the connection's receive window (default 65535).
	ConnWindow uint32
	// MaxFrameSize is the largest frame accepted (default 16384).
	MaxFrameSize uint32
	// MaxHeaderBytes bounds a request's header list: names, values and 32 bytes per
	// field, as SETTINGS_MAX_HEADER_LIST_SIZE counts (default 64 KiB).
	MaxHeaderBytes int
	// MaxHeaders bounds the number of request header fields (0: no bound).
	MaxHeaders int
	// IdleTimeout closes the connection after that long without a stream (0: never).
	IdleTimeout time.Duration
}

func (c *Config) defaults() {
	if c.MaxConcurrentStreams == 0 {
		c.MaxConcurrentStreams = 1024
	}
	if c.StreamWindow == 0 {
		c.StreamWindow = defaultWindow
	}
	c.StreamWindow = min(c.StreamWindow, maxWindow)
	if c.ConnWindow < defaultWindow {
		c.ConnWindow = defaultWindow
	}
	c.ConnWindow = min(c.ConnWindow, maxWindow)
	if c.MaxFrameSize == 0 {
		c.MaxFrameSize = defaultFrameSize
	}
	c.MaxFrameSize = min(max(c.MaxFrameSize, defaultFrameSize), 1<<24-1)
	if c.MaxHeaderBytes <= 0 {
		c.MaxHeaderBytes = 64 << 10
	}
}

// Handler serves request streams. ServeStream runs on a goroutine of the stream's own
// and may block; the stream is finished when it returns (a response it did not end is
// ended, one it never started is reset).
type Handler interface {
	ServeStream(st *Stream)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(st *Stream)

// ServeStream calls f.
func (f HandlerFunc) ServeStream(st *Stream) { f(st) }

// Conn is one server-side HTTP/2 connection.
type Conn struct {
	nc  net.Conn
	cfg Config
	h   Handler
	br  *bufio.Reader
	fr  *http2.Framer // reads; only the reader goroutine uses it
	dec *hpack.Decoder
	hb  headerBlock // the header block being decoded (reader only)
	w   writer

	mu         sync.Mutex
	streams    map[uint32]*Stream
	maxID      uint32 // highest stream ID the client opened
	recvWindow int32  // what the client may still send on the connection
	unacked    int32  // connection credit consumed but not yet returned
	free       []*Stream
	goingAway  bool // GOAWAY sent: no new streams
	stopping   bool // the reader is asked to stop
	stopErr    error
	idleSince  time.Time
	idleTimer  *time.Timer
	drainTimer *time.Timer

	wg          sync.WaitGroup // streams whose handler has not returned
	work        chan *Stream   // hands a stream to an idle stream goroutine
	idleWorkers atomic.Int32
	done        chan struct{} // closed when the connection ended: idle goroutines exit
}

// NewConn prepares to serve nc. Reads come from r, which holds nc's bytes (a reader that
// returns bytes already read first, such as the preface, is fine).
func NewConn(nc net.Conn, r io.Reader, cfg Config, h Handler) *Conn {
	cfg.defaults()
	c := &Conn{nc: nc, cfg: cfg, h: h, streams: make(map[uint32]*Stream), work: make(chan *Stream), done: make(chan struct{})}
	c.br = bufio.NewReaderSize(r, readBufferSize)
	c.fr = http2.NewFramer(nil, c.br)
	c.fr.SetMaxReadFrameSize(cfg.MaxFrameSize)
	c.fr.SetReuseFrames()
	c.dec = hpack.NewDecoder(4096, c.hb.emit)
	// A field over the header list limit is answered with 431; only what could not be
	// a header block at all is a connection error (see headerFragment).
	c.dec.SetMaxStringLength(2 * maxBlock(&cfg))
	c.hb.c = c
	c.recvWindow = int32(cfg.ConnWindow)
	c.w.init(nc)
	return c
}

// Serve serves the connection until the client goes away, a connection error, the
// idle timeout or the end of a Shutdown. It returns once every stream's handler has
// returned. The error is nil for an orderly end, ErrIdleTimeout, an
// http2.ConnectionError for a protocol error the connection was closed for, or the
// read error.
func (c *Conn) Serve() error {
	go c.w.loop()
	err := c.serve()
	c.close(err)
	return err
}

func (c *Conn) serve() error {
	if err := c.readPreface(); err != nil {
		return err
	}
	c.writeSettings()
	if c.cfg.IdleTimeout > 0 {
		c.mu.Lock()
		c.idleSince = time.Now()
		c.idleTimer = time.AfterFunc(c.cfg.IdleTimeout, c.idleCheck)
		c.mu.Unlock()
	}
	first := true
	for {
		f, err := c.fr.ReadFrame()
		if err == nil {
			if first {
				if sf, ok := f.(*http2.SettingsFrame); !ok || sf.IsAck() {
					err = http2.ConnectionError(ErrCodeProtocol)
				}
				first = false
			}
		}
		if err == nil {
			c.recycle()
			err = c.process(f)
		}
		if err == nil {
			continue
		}
		var se http2.StreamError
		if errors.As(err, &se) {
			c.streamError(se.StreamID, se.Code)
			continue
		}
		return c.readFailed(err)
	}
}

// readFailed turns the reason the read loop ended into Serve's error, sending GOAWAY
// for a connection error.
func (c *Conn) readFailed(err error) error {
	c.mu.Lock()
	stopping, stopErr := c.stopping, c.stopErr
	c.mu.Unlock()
	if stopping {
		return stopErr
	}
	var ce http2.ConnectionError
	switch {
	case errors.As(err, &ce):
	case errors.Is(err, http2.ErrFrameTooLarge):
		ce = http2.ConnectionError(ErrCodeFrameSize)
	default:
		if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil
		}
		return err
	}
	c.goAway(http2.ErrCode(ce))
	return ce
}

func (c *Conn) readPreface() error {
	var buf [len(Preface)]byte
	if _, err := io.ReadFull(c.br, buf[:]); err != nil {
		return err
	}
	if string(buf[:]) != Preface {
		return http2.ConnectionError(ErrCodeProtocol)
	}
	return nil
}

// writeSettings sends the server's SETTINGS and opens the connection window.
func (c *Conn) writeSettings() {
	w := &c.w
	w.mu.Lock()
	w.fr.WriteSettings(
		http2.Setting{ID: http2.SettingMaxConcurrentStreams, Val: c.cfg.MaxConcurrentStreams},
		http2.Setting{ID: http2.SettingInitialWindowSize, Val: c.cfg.StreamWindow},
		http2.Setting{ID: http2.SettingMaxFrameSize, Val: c.cfg.MaxFrameSize},
		http2.Setting{ID: http2.SettingMaxHeaderListSize, Val: uint32(c.cfg.MaxHeaderBytes)},
	)
	if inc := c.cfg.ConnWindow - defaultWindow; inc > 0 {
		w.fr.WriteWindowUpdate(0, inc)
	}
	w.mu.Unlock()
	w.kick()
}

// process handles one frame.
func (c *Conn) process(f http2.Frame) error {
	switch f := f.(type) {
	case *http2.DataFrame:
		return c.onData(f)
	case *http2.HeadersFrame:
		return c.onHeaders(f)
	case *http2.ContinuationFrame:
		return c.onContinuation(f)
	case *http2.SettingsFrame:
		return c.onSettings(f)
	case *http2.WindowUpdateFrame:
		return c.onWindowUpdate(f)
	case *http2.RSTStreamFrame:
		return c.onRSTStream(f)
	case *http2.PingFrame:
		if f.IsAck() {
			return nil
		}
		return c.w.control(func(fr *http2.Framer) { fr.WritePing(true, f.Data) })
	case *http2.GoAwayFrame:
		c.Shutdown(0)
		return nil
	case *http2.PriorityFrame:
		if f.StreamID == f.StreamDep {
			return http2.StreamError{StreamID: f.StreamID, Code: ErrCodeProtocol}
		}
		return nil
	case *http2.PushPromiseFrame:
		return http2.ConnectionError(ErrCodeProtocol)
	}
	return nil // unknown frame types are ignored
}

// stream returns the open stream id, or nil.
func (c *Conn) stream(id uint32) *Stream {
	c.mu.Lock()
	st := c.streams[id]
	c.mu.Unlock()
	return st
}

// idle reports whether id names a stream the client has not opened yet.
func (c *Conn) idle(id uint32) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return id > c.maxID
}
