package http1

import (
	"bytes"
	"errors"
	"io"
)

// Default limits, as Envoy's defaults: 60 KiB of headers and 100 header fields.
const (
	DefaultMaxHeaderBytes = 60 << 10
	DefaultMaxHeaders     = 100
	defaultBufSize        = 4 << 10
)

// Reader reads HTTP/1 messages from a byte stream. It owns a buffer that grows up to
// the header limit while a head is being read. A Reader is used by one goroutine.
type Reader struct {
	src  io.Reader
	buf  []byte
	r, w int
	err  error // sticky read error

	// MaxHeaderBytes bounds the head (request or status line plus fields).
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields.
	MaxHeaders int

	spans []span // scratch for head parsing
	body  Body   // the current message's body reader
}

// span locates one header field inside a head.
type span struct{ n0, n1, v0, v1 int }

// NewReader returns a reader over src.
func NewReader(src io.Reader) *Reader {
	return &Reader{
		src:            src,
		buf:            make([]byte, defaultBufSize),
		MaxHeaderBytes: DefaultMaxHeaderBytes,
		MaxHeaders:     DefaultMaxHeaders,
	}
}

// Reset points the reader at a new source and drops buffered data.
func (r *Reader) Reset(src io.Reader) {
	r.src = src
	r.r, r.w = 0, 0
	r.err = nil
}

// Buffered returns the number of bytes read from the source but not yet consumed.
func (r *Reader) Buffered() int { return r.w - r.r }

// Peek returns the buffered bytes without consuming them.
func (r *Reader) Peek() []byte { return r.buf[r.r:r.w] }

// Err returns the sticky error from the source, if any.
func (r *Reader) Err() error { return r.err }

// fill reads more data from the source, compacting and, when grow is set, growing the
// buffer up to limit bytes. It returns io.EOF (or the source's error) when no byte came.
func (r *Reader) fill(limit int) error {
	if r.err != nil {
		return r.err
	}
	if r.r > 0 && (r.w == len(r.buf) || r.r == r.w) {
		copy(r.buf, r.buf[r.r:r.w])
		r.w -= r.r
		r.r = 0
	}
	if r.w == len(r.buf) {
		if len(r.buf) >= limit {
			return errHeadTooLarge
		}
		nb := make([]byte, min(2*len(r.buf), limit))
		copy(nb, r.buf[:r.w])
		r.buf = nb
	}
	n, err := r.src.Read(r.buf[r.w:])
	r.w += n
	if err != nil {
		r.err = err
		if n > 0 {
			return nil
		}
		return err
	}
	return nil
}

// Fill waits until at least one byte is buffered; the connection manager starts the
// request headers timeout at a request's first byte.
func (r *Reader) Fill() error {
	if r.r < r.w {
		return nil
	}
	return r.fill(len(r.buf))
}

// Read reads raw bytes, buffered ones first. It lets a hijacked connection (upgrade)
// continue with what the codec had already read.
func (r *Reader) Read(p []byte) (int, error) {
	if r.r < r.w {
		n := copy(p, r.buf[r.r:r.w])
		r.r += n
		return n, nil
	}
	if r.err != nil {
		return 0, r.err
	}
	if len(p) >= len(r.buf) {
		n, err := r.src.Read(p)
		if err != nil {
			r.err = err
		}
		return n, err
	}
	if err := r.fill(len(r.buf)); err != nil {
		return 0, err
	}
	n := copy(p, r.buf[r.r:r.w])
	r.r += n
	return n, nil
}

// readHead waits for a complete head (ending in an empty line) and returns its length
// from r.r. Leading empty lines before a request are skipped, as RFC 9112 allows.
func (r *Reader) readHead() (int, error) {
	scanned := 0
	for {
		for r.r < r.w && (r.buf[r.r] == '\r' || r.buf[r.r] == '\n') && scanned == 0 {
			r.r++
		}
		b := r.buf[r.r:r.w]
		if i := headEnd(b, scanned); i >= 0 {
			if i > r.MaxHeaderBytes {
				return 0, errHeadTooLarge
			}
			return i, nil
		}
		scanned = max(0, len(b)-3)
		if len(b) >= r.MaxHeaderBytes {
			return 0, errHeadTooLarge
		}
		if err := r.fill(r.MaxHeaderBytes + 4); err != nil {
			if errors.Is(err, io.EOF) && r.w > r.r {
				return 0, io.ErrUnexpectedEOF
			}
			return 0, err
		}
	}
}

// headEnd returns the length of the head in b (through the blank line), or -1.
func headEnd(b []byte, from int) int {
	for {
		i := bytes.IndexByte(b[from:], '\n')
		if i < 0 {
			return -1
		}
		i += from
		switch {
		case i+1 < len(b) && b[i+1] == '\n':
			return i + 2
		case i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n':
			return i + 3
		case i+2 >= len(b):
			return -1
		}
		from = i + 1
	}
}

// consume drops n bytes from the buffer.
func (r *Reader) consume(n int) { r.r += n }

// Unread puts bytes back in front of the buffered data, as if they had not been read;
// the connection manager uses it for a byte its disconnect watcher read.
func (r *Reader) Unread(p []byte) {
	if len(p) == 0 {
		return
	}
	if r.r >= len(p) {
		r.r -= len(p)
		copy(r.buf[r.r:], p)
		return
	}
	rest := r.buf[r.r:r.w]
	nb := make([]byte, max(len(r.buf), len(p)+len(rest)))
	n := copy(nb, p)
	n += copy(nb[n:], rest)
	r.buf, r.r, r.w = nb, 0, n
}
