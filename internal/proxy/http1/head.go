package http1

import (
	"bytes"
	"strings"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// Framing says how a message body is delimited.
type Framing struct {
	// Length is the Content-Length, or -1 when the length is not known in advance.
	Length int64
	// Chunked is set for Transfer-Encoding: chunked.
	Chunked bool
	// Close is set when the body runs until the connection closes (responses only).
	Close bool
}

// NoBody is the framing of a message without a body.
var NoBody = Framing{Length: 0}

// HasBody reports whether a body follows the head.
func (f Framing) HasBody() bool { return f.Chunked || f.Close || f.Length > 0 }

// Head is what the codec learned from a head beyond its fields.
type Head struct {
	// Minor is the HTTP/1 minor version: 0 or 1.
	Minor int
	// KeepAlive reports whether the connection may carry another message afterwards.
	KeepAlive bool
	// Upgrade is set when the message asks for (or agrees to) a protocol upgrade
	// ("connection: upgrade" with an "upgrade" field, or CONNECT).
	Upgrade bool
	// ExpectContinue is set for "expect: 100-continue".
	ExpectContinue bool
	// Body is the body's framing.
	Body Framing
	// Status is the response status code (responses only).
	Status int
}

// Protocol returns "HTTP/1.1" or "HTTP/1.0".
func (h *Head) Protocol() string {
	if h.Minor == 0 {
		return "HTTP/1.0"
	}
	return "HTTP/1.1"
}

// ReadRequest reads the next request head into h and head. h receives :method, :path
// (absent for CONNECT), :authority (from the request target or Host) and the
// end-to-end fields; hop-by-hop fields (connection, keep-alive, transfer-encoding, te
// other than "trailers", proxy-connection) are consumed, except "upgrade" on upgrades.
// It returns io.EOF when the connection closed cleanly between requests.
func (r *Reader) ReadRequest(h *header.Map, head *Head) error {
	n, err := r.readHead()
	if err != nil {
		return err
	}
	b := r.buf[r.r : r.r+n]
	line, rest := splitLine(b)
	m0, m1, t0, t1, minor, perr := parseRequestLine(line)
	if perr != nil {
		return perr
	}
	off := len(b) - len(rest)
	if err := r.scanFields(b, off); err != nil {
		return err
	}
	s := string(b)
	r.consume(n)
	*head = Head{Minor: minor, KeepAlive: minor == 1, Body: NoBody}
	h.Reset()
	method := s[m0:m1]
	h.Add(header.Method, method)
	if err := setTarget(h, method, s[t0:t1]); err != nil {
		return err
	}
	if err := r.addFields(h, head, s, true); err != nil {
		return err
	}
	if !h.Has(header.Authority) && minor == 1 {
		return malformed("missing host header")
	}
	if method == "CONNECT" {
		head.Upgrade = true
	}
	return nil
}

// ReadResponse reads the next response head into h and head. method is the request's
// method, which decides whether a body follows. h receives :status and the end-to-end
// fields.
func (r *Reader) ReadResponse(h *header.Map, head *Head, method string) error {
	n, err := r.readHead()
	if err != nil {
		return err
	}
	b := r.buf[r.r : r.r+n]
	line, rest := splitLine(b)
	minor, status, perr := parseStatusLine(line)
	if perr != nil {
		return perr
	}
	if err := r.scanFields(b, len(b)-len(rest)); err != nil {
		return err
	}
	s := string(b)
	r.consume(n)
	*head = Head{Minor: minor, KeepAlive: minor == 1, Status: status, Body: Framing{Length: -1, Close: true}}
	h.Reset()
	h.Add(header.Status, statusString(s, line, status))
	if err := r.addFields(h, head, s, false); err != nil {
		return err
	}
	switch {
	case method == "HEAD" || status < 200 || status == 204 || status == 304:
		head.Body = NoBody
	case method == "CONNECT" && status/100 == 2:
		head.Body = NoBody
		head.Upgrade = true
	}
	if head.Body.Close {
		head.KeepAlive = false
	}
	if status == 101 {
		head.Upgrade = true
		head.Body = NoBody
	}
	return nil
}

// statusString returns the three status digits as a substring of s when possible.
func statusString(s string, line []byte, status int) string {
	if i := bytes.IndexByte(line, ' '); i >= 0 && i+4 <= len(s) {
		return s[i+1 : i+4]
	}
	return itoa3(status)
}

func itoa3(n int) string {
	return string([]byte{byte('0' + n/100%10), byte('0' + n/10%10), byte('0' + n%10)})
}

// splitLine returns the first line of b without its line ending, and the rest.
func splitLine(b []byte) (line, rest []byte) {
	i := bytes.IndexByte(b, '\n')
	line, rest = b[:i], b[i+1:]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	return line, rest
}

// parseRequestLine splits "METHOD SP target SP HTTP/1.x" and returns offsets into line.
func parseRequestLine(line []byte) (m0, m1, t0, t1, minor int, err *Error) {
	sp1 := bytes.IndexByte(line, ' ')
	if sp1 <= 0 {
		return 0, 0, 0, 0, 0, malformed("bad request line")
	}
	sp2 := bytes.LastIndexByte(line, ' ')
	if sp2 <= sp1+1 {
		return 0, 0, 0, 0, 0, malformed("bad request line")
	}
	for _, c := range line[:sp1] {
		if !isToken(c) {
			return 0, 0, 0, 0, 0, malformed("bad method")
		}
	}
	for _, c := range line[sp1+1 : sp2] {
		if c <= ' ' || c == 0x7f {
			return 0, 0, 0, 0, 0, malformed("bad request target")
		}
	}
	minor, ok := parseVersion(line[sp2+1:])
	if !ok {
		return 0, 0, 0, 0, 0, &Error{Status: 400, Details: "http1.codec_error", Reason: "unsupported http version"}
	}
	return 0, sp1, sp1 + 1, sp2, minor, nil
}

func parseVersion(v []byte) (int, bool) {
	if len(v) != 8 || string(v[:7]) != "HTTP/1." {
		return 0, false
	}
	switch v[7] {
	case '0':
		return 0, true
	case '1':
		return 1, true
	}
	return 0, false
}

// parseStatusLine parses "HTTP/1.x SP 3DIGIT [SP reason]".
func parseStatusLine(line []byte) (minor, status int, err *Error) {
	if len(line) < 12 || line[8] != ' ' {
		return 0, 0, malformed("bad status line")
	}
	minor, ok := parseVersion(line[:8])
	if !ok {
		return 0, 0, malformed("bad status line version")
	}
	d := line[9:12]
	for _, c := range d {
		if c < '0' || c > '9' {
			return 0, 0, malformed("bad status code")
		}
	}
	if len(line) > 12 && line[12] != ' ' {
		return 0, 0, malformed("bad status line")
	}
	status = int(d[0]-'0')*100 + int(d[1]-'0')*10 + int(d[2]-'0')
	if status < 100 {
		return 0, 0, malformed("bad status code")
	}
	return minor, status, nil
}

// setTarget maps the request target onto :path and :authority.
func setTarget(h *header.Map, method, target string) error {
	switch {
	case method == "CONNECT":
		h.Add(header.Authority, target)
	case target[0] == '/' || target == "*":
		h.Add(header.Path, target)
	default:
		scheme, rest, ok := strings.Cut(target, "://")
		if !ok || (!strings.EqualFold(scheme, "http") && !strings.EqualFold(scheme, "https")) {
			return malformed("bad request target")
		}
		host, path := rest, "/"
		if i := strings.IndexAny(rest, "/?"); i >= 0 {
			host, path = rest[:i], rest[i:]
			if path[0] == '?' {
				path = "/" + path
			}
		}
		if host == "" {
			return malformed("bad request target")
		}
		h.Add(header.Path, path)
		h.Add(header.Authority, host)
	}
	return nil
}

// scanFields validates the field lines of b starting at off, lowercases the names in
// place and records their spans.
func (r *Reader) scanFields(b []byte, off int) error {
	r.spans = r.spans[:0]
	for off < len(b) {
		i := bytes.IndexByte(b[off:], '\n')
		end := off + i
		line := end
		if line > off && b[line-1] == '\r' {
			line--
		}
		if line == off { // the blank line that ends the head
			return nil
		}
		if b[off] == ' ' || b[off] == '\t' {
			return malformed("obsolete line folding")
		}
		sp, err := scanField(b, off, line)
		if err != nil {
			return err
		}
		if len(r.spans) == r.MaxHeaders {
			return errTooMany
		}
		r.spans = append(r.spans, sp)
		off = end + 1
	}
	return nil
}

func scanField(b []byte, off, end int) (span, *Error) {
	colon := bytes.IndexByte(b[off:end], ':')
	if colon <= 0 {
		return span{}, malformed("bad header field")
	}
	colon += off
	for i := off; i < colon; i++ {
		c := b[i]
		if !isToken(c) {
			return span{}, malformed("bad header name")
		}
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	v0, v1 := colon+1, end
	for v0 < v1 && (b[v0] == ' ' || b[v0] == '\t') {
		v0++
	}
	for v1 > v0 && (b[v1-1] == ' ' || b[v1-1] == '\t') {
		v1--
	}
	for _, c := range b[v0:v1] {
		if (c < ' ' && c != '\t') || c == 0x7f {
			return span{}, malformed("bad header value")
		}
	}
	return span{off, colon, v0, v1}, nil
}
