package h2

import (
	"strconv"
	"strings"

	"golang.org/x/net/http/httpguts"
	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// blockMode says what a header block being decoded is for.
type blockMode uint8

const (
	blockRequest     blockMode = iota // opens a stream
	blockTrailers                     // ends an open stream's request
	blockClosed                       // on a half-closed stream: STREAM_CLOSED
	blockRefused                      // over the stream limit: REFUSED_STREAM
	blockIgnored                      // after GOAWAY, or on a locally reset stream
	blockBadPriority                  // the stream depends on itself: PROTOCOL_ERROR
)

// Pseudo-header bits, to find duplicates.
const (
	pseudoMethod = 1 << iota
	pseudoScheme
	pseudoAuthority
	pseudoPath
)

// headerBlock is the state of the header block being decoded: HPACK emits fields into
// it as the HEADERS and CONTINUATION fragments arrive. Only the reader goroutine uses it.
type headerBlock struct {
	c         *Conn
	active    bool // a block is being decoded
	mode      blockMode
	id        uint32
	st        *Stream
	dst       *header.Map // where fields go; nil drops them
	endStream bool
	raw       int // fragment bytes
	size      int // header list size, as SETTINGS_MAX_HEADER_LIST_SIZE counts it
	count     int
	tooLarge  bool
	bad       bool // malformed (RFC 9113 §8.1.1)
	regular   bool // a regular field was seen: no pseudo-header may follow
	pseudo    uint8

	method, scheme, authority, path string
	host                            string
	hosts, cookies, lengths         int
	contentLength                   string
	expect                          bool
}

func (b *headerBlock) reset(mode blockMode, id uint32, st *Stream, end bool) {
	*b = headerBlock{c: b.c, active: true, mode: mode, id: id, st: st, endStream: end}
	switch mode {
	case blockRequest:
		b.dst = &st.hdr
	case blockTrailers:
		b.dst = &st.trailers
	}
}

// emit takes one decoded field.
func (b *headerBlock) emit(f hpack.HeaderField) {
	b.size += len(f.Name) + len(f.Value) + 32
	b.count++
	if b.size > b.c.cfg.MaxHeaderBytes || (b.c.cfg.MaxHeaders > 0 && b.count > b.c.cfg.MaxHeaders) {
		b.tooLarge = true
	}
	if b.dst == nil || b.tooLarge || b.bad {
		return
	}
	name, value := f.Name, f.Value
	if !httpguts.ValidHeaderFieldValue(value) {
		b.bad = true
		return
	}
	if header.IsPseudo(name) {
		b.pseudoField(name, value)
		return
	}
	b.regular = true
	if !validName(name) || connectionSpecific(name) || (name == "te" && value != "trailers") {
		b.bad = true
		return
	}
	if b.mode == blockRequest && !b.requestField(name, value) {
		return
	}
	b.dst.Add(name, value)
}

// requestField notes the request fields the stream's setup needs; false drops the field.
func (b *headerBlock) requestField(name, value string) bool {
	switch name {
	case "host":
		b.hosts++
		b.host = value
		return false
	case "cookie":
		b.cookies++
	case "content-length":
		b.lengths++
		if b.lengths > 1 && value != b.contentLength {
			b.bad = true
		}
		b.contentLength = value
	case "expect":
		if equalFold(value, "100-continue") {
			b.expect = true
			return false
		}
	case "trailer":
		return false
	}
	return true
}

func (b *headerBlock) pseudoField(name, value string) {
	if b.mode != blockRequest || b.regular {
		b.bad = true
		return
	}
	var bit uint8
	switch name {
	case header.Method:
		bit, b.method = pseudoMethod, value
	case header.Scheme:
		bit, b.scheme = pseudoScheme, value
	case header.Authority:
		bit, b.authority = pseudoAuthority, value
	case header.Path:
		bit, b.path = pseudoPath, value
	default: // :status, :protocol (extended CONNECT is not offered), unknown
		b.bad = true
		return
	}
	if b.pseudo&bit != 0 {
		b.bad = true
		return
	}
	b.pseudo |= bit
	b.dst.Add(name, value)
}

// onHeaders starts a header block: a new stream's request, or trailers.
func (c *Conn) onHeaders(f *http2.HeadersFrame) error {
	id := f.StreamID
	if id%2 == 0 {
		return http2.ConnectionError(ErrCodeProtocol)
	}
	mode, st := c.headersFor(id)
	switch {
	case mode < 0:
		return http2.ConnectionError(ErrCodeProtocol)
	case f.HasPriority() && f.Priority.StreamDep == id:
		if blockMode(mode) == blockRequest {
			st.release()
		}
		mode, st = int(blockBadPriority), nil
	}
	c.hb.reset(blockMode(mode), id, st, f.StreamEnded())
	return c.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

// headersFor says what a HEADERS frame on stream id is; negative means a connection
// error (a stream ID reused).
func (c *Conn) headersFor(id uint32) (int, *Stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st := c.streams[id]; st != nil {
		st.mu.Lock()
		defer st.mu.Unlock()
		switch {
		case st.rerr != nil:
			return int(blockIgnored), nil
		case st.remoteDone:
			return int(blockClosed), st
		}
		return int(blockTrailers), st
	}
	if id <= c.maxID {
		return -1, nil
	}
	c.maxID = id
	switch {
	case c.goingAway:
		return int(blockIgnored), nil
	case uint32(len(c.streams)) >= c.cfg.MaxConcurrentStreams:
		return int(blockRefused), nil
	}
	return int(blockRequest), newStream(c, id)
}

func (c *Conn) onContinuation(f *http2.ContinuationFrame) error {
	if !c.hb.active { // its HEADERS frame was refused
		return http2.ConnectionError(ErrCodeProtocol)
	}
	return c.headerFragment(f.HeaderBlockFragment(), f.HeadersEnded())
}

// headerFragment decodes one fragment of the block; at its end the block takes effect.
func (c *Conn) headerFragment(frag []byte, end bool) error {
	b := &c.hb
	b.raw += len(frag)
	if b.raw > maxBlock(&c.cfg) {
		b.abandon()
		return http2.ConnectionError(ErrCodeCalm)
	}
	if _, err := c.dec.Write(frag); err != nil {
		b.abandon()
		return http2.ConnectionError(ErrCodeCompression)
	}
	if !end {
		return nil
	}
	if err := c.dec.Close(); err != nil {
		b.abandon()
		return http2.ConnectionError(ErrCodeCompression)
	}
	return c.endHeaders()
}

// maxBlock bounds the bytes of one header block: past twice the header list limit the
// client is not sending a request any server would take (a CONTINUATION flood).
func maxBlock(cfg *Config) int { return 2*cfg.MaxHeaderBytes + int(cfg.MaxFrameSize) }

// abandon drops the stream a failed block was opening.
func (b *headerBlock) abandon() {
	if b.mode == blockRequest && b.st != nil {
		b.st.release()
	}
	b.st, b.dst, b.active = nil, nil, false
}

// endHeaders acts on a complete header block.
func (c *Conn) endHeaders() error {
	b := &c.hb
	st, id := b.st, b.id
	b.active = false
	switch b.mode {
	case blockRequest:
		if b.tooLarge {
			st.tooLarge = true
			st.remoteDone = b.endStream
			if !b.endStream {
				st.bodyLen = -1
			}
			return c.start(st)
		}
		if !b.request(st) {
			st.release()
			return http2.StreamError{StreamID: id, Code: ErrCodeProtocol}
		}
		return c.start(st)
	case blockTrailers:
		if !b.endStream || b.bad || b.tooLarge {
			return http2.StreamError{StreamID: id, Code: ErrCodeProtocol}
		}
		return st.endRemote()
	case blockClosed:
		return http2.StreamError{StreamID: id, Code: ErrCodeStreamClose}
	case blockRefused:
		c.w.rst(id, ErrCodeRefused)
	case blockBadPriority:
		c.w.rst(id, ErrCodeProtocol)
	}
	return nil
}

// request validates a request's header block (RFC 9113 §8.3.1) and sets the stream up
// from it; false means it is malformed.
func (b *headerBlock) request(st *Stream) bool {
	if b.bad {
		return false
	}
	if b.method == "CONNECT" {
		if b.pseudo&(pseudoScheme|pseudoPath) != 0 || b.authority == "" {
			return false
		}
	} else if b.method == "" || b.path == "" || (b.path[0] != '/' && b.path != "*") || (b.scheme != "http" && b.scheme != "https") {
		return false
	}
	switch {
	case b.hosts > 1:
		return false
	case b.hosts == 1 && b.authority == "":
		b.authority = b.host
		st.hdr.Add(header.Authority, b.host)
	case b.hosts == 1 && b.host != b.authority:
		return false
	}
	if b.authority != "" {
		if (strings.IndexByte(b.authority, '@') >= 0 && b.scheme != "") || !httpguts.ValidHostHeader(b.authority) {
			return false
		}
	}
	if b.cookies > 1 {
		joinCookies(&st.hdr)
	}
	st.declLen = -1
	if b.lengths > 0 {
		n, err := strconv.ParseUint(b.contentLength, 10, 63)
		if err != nil || (b.endStream && n != 0) {
			return false
		}
		st.declLen = int64(n)
	}
	switch {
	case b.endStream:
		st.bodyLen = 0
	default:
		st.bodyLen = st.declLen
	}
	st.remoteDone = b.endStream
	st.expect = b.expect && !b.endStream
	st.head = b.method == "HEAD"
	return true
}

// start opens a stream whose request head arrived and runs its handler.
func (c *Conn) start(st *Stream) error {
	w := &c.w
	w.mu.Lock()
	st.sendWindow = w.initialWindow
	w.mu.Unlock()
	c.mu.Lock()
	c.streams[st.id] = st
	c.mu.Unlock()
	c.wg.Add(1)
	select {
	case c.work <- st:
	default:
		go c.worker(st)
	}
	return nil
}

// worker serves st, then the streams handed to it while it waits idle.
func (c *Conn) worker(st *Stream) {
	for {
		c.h.ServeStream(st)
		st.finish()
		c.wg.Done()
		if c.idleWorkers.Add(1) > maxIdleWorkers {
			c.idleWorkers.Add(-1)
			return
		}
		select {
		case st = <-c.work:
			c.idleWorkers.Add(-1)
		case <-c.done:
			return
		}
	}
}

// joinCookies makes the cookie fields one, joined by "; " (RFC 9113 §8.2.3), where the
// first one was.
func joinCookies(h *header.Map) {
	var sb strings.Builder
	for _, f := range h.Fields() {
		if f.Name == "cookie" {
			if sb.Len() > 0 {
				sb.WriteString("; ")
			}
			sb.WriteString(f.Value)
		}
	}
	h.Set("cookie", sb.String())
}

// connectionSpecific reports the fields HTTP/2 forbids (RFC 9113 §8.2.2).
func connectionSpecific(name string) bool {
	switch name {
	case "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade":
		return true
	}
	return false
}

// validName reports whether name is a lowercase field name token.
func validName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if !nameChar[name[i]] {
			return false
		}
	}
	return true
}

var nameChar = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if a[i]|0x20 != b[i]|0x20 {
			return false
		}
	}
	return true
}
