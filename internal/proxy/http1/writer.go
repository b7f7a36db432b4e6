package http1

import (
	"io"
	"net/http"
	"strconv"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// flushThreshold is the size above which body bytes are written through rather than
// copied into the buffer.
const flushThreshold = 8 << 10

// Writer writes HTTP/1 messages. Heads and small bodies collect in a buffer until Flush,
// so that a small response leaves in one write. A Writer is used by one goroutine.
type Writer struct {
	dst     io.Writer
	buf     []byte
	chunked bool
	err     error
}

// NewWriter returns a writer to dst.
func NewWriter(dst io.Writer) *Writer {
	return &Writer{dst: dst, buf: make([]byte, 0, defaultBufSize)}
}

// Reset points the writer at a new destination and drops pending bytes.
func (w *Writer) Reset(dst io.Writer) {
	w.dst, w.buf, w.chunked, w.err = dst, w.buf[:0], false, nil
}

// Buffered returns the number of bytes waiting for Flush.
func (w *Writer) Buffered() int { return len(w.buf) }

// WriteRequestHead buffers a request head built from h's :method, :path and :authority
// and its other fields, with framing f.
func (w *Writer) WriteRequestHead(h *header.Map, f Framing, upgrade bool) {
	b := w.buf
	b = append(b, h.Get(header.Method)...)
	b = append(b, ' ')
	if p, ok := h.Lookup(header.Path); ok {
		b = append(b, p...)
	} else {
		b = append(b, h.Get(header.Authority)...) // CONNECT
	}
	b = append(b, " HTTP/1.1\r\nhost: "...)
	b = append(b, h.Get(header.Authority)...)
	b = append(b, "\r\n"...)
	b = appendFields(b, h)
	w.buf = w.appendFraming(b, f, upgrade, false)
}

// WriteResponseHead buffers a response head. minor is the HTTP/1 minor version of the
// request; closing asks the client to close the connection after this response.
func (w *Writer) WriteResponseHead(status int, h *header.Map, f Framing, minor int, upgrade, closing bool) {
	b := w.buf
	if minor == 0 {
		b = append(b, "HTTP/1.0 "...)
	} else {
		b = append(b, "HTTP/1.1 "...)
	}
	b = strconv.AppendInt(b, int64(status), 10)
	b = append(b, ' ')
	b = append(b, http.StatusText(status)...)
	b = append(b, "\r\n"...)
	b = appendFields(b, h)
	switch {
	case upgrade:
	case closing && minor == 1:
		b = append(b, "connection: close\r\n"...)
	case !closing && minor == 0:
		b = append(b, "connection: keep-alive\r\n"...)
	}
	w.buf = w.appendFraming(b, f, upgrade, status < 200 || status == 204 || status == 304)
}

// WriteContinue writes an interim "100 Continue" response and flushes it.
func (w *Writer) WriteContinue() error {
	w.buf = append(w.buf, "HTTP/1.1 100 Continue\r\n\r\n"...)
	return w.Flush()
}

func (w *Writer) appendFraming(b []byte, f Framing, upgrade, noBody bool) []byte {
	w.chunked = false
	switch {
	case upgrade:
		b = append(b, "connection: upgrade\r\n"...)
	case noBody:
	case f.Chunked || (f.Length < 0 && !f.Close):
		w.chunked = true
		b = append(b, "transfer-encoding: chunked\r\n"...)
	case f.Length >= 0:
		b = append(b, "content-length: "...)
		b = strconv.AppendInt(b, f.Length, 10)
		b = append(b, "\r\n"...)
	}
	return append(b, "\r\n"...)
}

// appendFields appends h's regular fields, leaving out pseudo-headers and the fields
// the writer sets itself.
func appendFields(b []byte, h *header.Map) []byte {
	for _, f := range h.Fields() {
		if header.IsPseudo(f.Name) {
			continue
		}
		switch f.Name {
		case "content-length", "transfer-encoding", "connection", "host":
			continue
		}
		b = append(b, f.Name...)
		b = append(b, ": "...)
		b = append(b, f.Value...)
		b = append(b, "\r\n"...)
	}
	return b
}

// Write writes body bytes, chunk-encoding them when the head said chunked.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	if len(p) == 0 {
		return 0, nil
	}
	if w.chunked {
		w.buf = strconv.AppendInt(w.buf, int64(len(p)), 16)
		w.buf = append(w.buf, "\r\n"...)
	}
	if len(w.buf)+len(p) > flushThreshold {
		if err := w.Flush(); err != nil {
			return 0, err
		}
		if _, err := w.dst.Write(p); err != nil {
			w.err = err
			return 0, err
		}
	} else {
		w.buf = append(w.buf, p...)
	}
	if w.chunked {
		w.buf = append(w.buf, "\r\n"...)
	}
	return len(p), nil
}

// EndBody ends a chunked body with the last chunk and trailers (which may be nil); for
// other framings it does nothing.
func (w *Writer) EndBody(trailers *header.Map) {
	if !w.chunked {
		return
	}
	w.chunked = false
	w.buf = append(w.buf, "0\r\n"...)
	if trailers != nil {
		w.buf = appendFields(w.buf, trailers)
	}
	w.buf = append(w.buf, "\r\n"...)
}

// Flush writes the buffered bytes.
func (w *Writer) Flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	_, err := w.dst.Write(w.buf)
	w.buf = w.buf[:0]
	if err != nil {
		w.err = err
	}
	return err
}
