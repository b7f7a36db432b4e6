package router

import (
	"io"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
)

// maxReplayBody bounds how much request body is kept to re-send it on a retry (Envoy's
// default per-connection buffer limit). A longer body is not retried.
const maxReplayBody = 1 << 20

// replayBody reads the request body once from downstream and keeps what it read, up to
// maxReplayBody, so that a retry can send it again.
type replayBody struct {
	src       httpfilter.Body
	buf       []byte
	pos       int
	replaying bool
	overflow  bool
	eof       bool
}

var _ httpfilter.Body = (*replayBody)(nil)

func newReplayBody(src httpfilter.Body, buf []byte) *replayBody {
	return &replayBody{src: src, buf: buf[:0]}
}

// Read serves replayed bytes first, then reads (and keeps) new ones.
func (b *replayBody) Read(p []byte) (int, error) {
	if b.replaying && b.pos < len(b.buf) {
		n := copy(p, b.buf[b.pos:])
		b.pos += n
		return n, nil
	}
	if b.eof {
		return 0, io.EOF
	}
	n, err := b.src.Read(p)
	if n > 0 && !b.overflow {
		if len(b.buf)+n > maxReplayBody {
			b.overflow, b.buf = true, nil
		} else {
			b.buf = append(b.buf, p[:n]...)
			b.pos = len(b.buf)
		}
	}
	if err == io.EOF {
		b.eof = true
	}
	return n, err
}

// Rewind starts the body over; false when too much of it was read to keep.
func (b *replayBody) Rewind() bool {
	if b.overflow {
		return false
	}
	b.replaying, b.pos = true, 0
	return true
}

// Length returns the body's length as the downstream declared it.
func (b *replayBody) Length() int64 { return b.src.Length() }

// Trailers returns the downstream's trailers once the body was read.
func (b *replayBody) Trailers() *header.Map { return b.src.Trailers() }

// Buffered reports whether reading the rest cannot block.
func (b *replayBody) Buffered() bool { return b.eof || b.src.Buffered() }
