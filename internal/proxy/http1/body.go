package http1

import (
	"bytes"
	"io"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// maxChunkLine bounds a chunk-size line with its extensions.
const maxChunkLine = 4096

type bodyMode uint8

const (
	modeNone bodyMode = iota
	modeLength
	modeChunked
	modeClose
)

// Body reads one message body from a Reader. It is embedded in the Reader and reused
// for every message, so it stays valid only until the next head is read.
type Body struct {
	r         *Reader
	mode      bodyMode
	remaining int64 // bytes left in the body (length) or in the current chunk
	chunkEnd  bool  // a chunk's data was read; its CRLF is next
	done      bool
	trailers  *header.Map
	err       error
}

// Body returns the reader for the body framed by f. Trailers of a chunked body are
// added to trailers when it is not nil.
func (r *Reader) Body(f Framing, trailers *header.Map) *Body {
	b := &r.body
	*b = Body{r: r, trailers: trailers}
	switch {
	case f.Chunked:
		b.mode = modeChunked
	case f.Close:
		b.mode = modeClose
	case f.Length > 0:
		b.mode, b.remaining = modeLength, f.Length
	default:
		b.done = true
	}
	return b
}

// Done reports whether the whole body was read, so that the connection can carry the
// next message.
func (b *Body) Done() bool { return b.done }

// Remaining returns the bytes left of a Content-Length body, or -1 when unknown.
func (b *Body) Remaining() int64 {
	if b.mode == modeLength || b.done {
		return b.remaining
	}
	return -1
}

// Buffered reports whether the rest of a Content-Length body is already buffered, so
// that reading it will not block.
func (b *Body) Buffered() bool {
	return b.done || (b.mode == modeLength && int64(b.r.Buffered()) >= b.remaining)
}

// Read reads body bytes. It returns io.EOF at the end of the body and
// io.ErrUnexpectedEOF when the connection closes inside it.
func (b *Body) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	if b.err != nil {
		return 0, b.err
	}
	var n int
	var err error
	switch b.mode {
	case modeLength:
		n, err = b.readLength(p)
	case modeChunked:
		n, err = b.readChunked(p)
	case modeClose:
		n, err = b.r.Read(p)
		if err == io.EOF {
			b.done = true
		}
	}
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (b *Body) readLength(p []byte) (int, error) {
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.r.Read(p)
	b.remaining -= int64(n)
	if b.remaining == 0 {
		b.done = true
		return n, nil
	}
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

func (b *Body) readChunked(p []byte) (int, error) {
	if b.remaining == 0 {
		if err := b.nextChunk(); err != nil {
			return 0, err
		}
		if b.done {
			return 0, io.EOF
		}
	}
	if int64(len(p)) > b.remaining {
		p = p[:b.remaining]
	}
	n, err := b.r.Read(p)
	b.remaining -= int64(n)
	if err == io.EOF {
		return n, io.ErrUnexpectedEOF
	}
	return n, err
}

// nextChunk consumes the previous chunk's CRLF and the next chunk-size line; at the last
// chunk it reads the trailers and marks the body done.
func (b *Body) nextChunk() error {
	r := b.r
	if b.chunkEnd {
		line, err := r.readLine(2)
		if err != nil {
			return err
		}
		if len(line) != 0 {
			return errBadChunk
		}
	}
	line, err := r.readLine(maxChunkLine)
	if err != nil {
		return err
	}
	if i := bytes.IndexByte(line, ';'); i >= 0 {
		line = line[:i]
	}
	size, ok := parseHex(bytes.TrimRight(line, " \t"))
	if !ok {
		return errBadChunk
	}
	if size == 0 {
		if err := b.readTrailers(); err != nil {
			return err
		}
		b.done = true
		return nil
	}
	b.remaining, b.chunkEnd = size, true
	return nil
}

// readTrailers reads the trailer section that follows the last chunk.
func (b *Body) readTrailers() error {
	r := b.r
	for {
		line, err := r.readLine(r.MaxHeaderBytes)
		if err != nil {
			return err
		}
		if len(line) == 0 {
			return nil
		}
		sp, perr := scanField(line, 0, len(line))
		if perr != nil {
			return perr
		}
		if b.trailers != nil {
			s := string(line)
			b.trailers.Add(s[sp.n0:sp.n1], s[sp.v0:sp.v1])
		}
	}
}

// readLine returns the next line without its line ending, consuming it. The slice is
// valid until the next read.
func (r *Reader) readLine(limit int) ([]byte, error) {
	for {
		if i := bytes.IndexByte(r.buf[r.r:r.w], '\n'); i >= 0 {
			line := r.buf[r.r : r.r+i]
			r.r += i + 1
			if len(line) > 0 && line[len(line)-1] == '\r' {
				line = line[:len(line)-1]
			}
			return line, nil
		}
		if r.w-r.r > limit {
			return nil, errBadChunk
		}
		if err := r.fill(max(len(r.buf), limit+2)); err != nil {
			if err == io.EOF {
				return nil, io.ErrUnexpectedEOF
			}
			return nil, err
		}
	}
}

func parseHex(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 15 {
		return 0, false
	}
	var n int64
	for _, c := range b {
		switch {
		case '0' <= c && c <= '9':
			n = n<<4 | int64(c-'0')
		case 'a' <= c && c <= 'f':
			n = n<<4 | int64(c-'a'+10)
		case 'A' <= c && c <= 'F':
			n = n<<4 | int64(c-'A'+10)
		default:
			return 0, false
		}
	}
	return n, true
}
