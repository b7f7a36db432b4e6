package inspect

import "bytes"

// Application protocol names DetectHTTP returns, as Envoy's http_inspector sets them
// for the filter-chain match's application_protocols.
const (
	ProtoH2C    = "h2c"
	ProtoHTTP11 = "http/1.1"
	ProtoHTTP10 = "http/1.0"
)

// MaxHTTPInspectSize is how many bytes DetectHTTP looks at, as Envoy's http_inspector
// (64 KiB): a request line not ended within them is not taken for HTTP.
const MaxHTTPInspectSize = 64 * 1024

// h2Preface is the HTTP/2 client connection preface (RFC 9113, section 3.4).
const h2Preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

// httpMethods are the request methods DetectHTTP accepts: the list of Envoy's
// http_inspector, plus PROPFIND, which its HTTP/1 parser accepts too.
var httpMethods = [...]string{
	"ACL", "BASELINE-CONTROL", "BIND", "CHECKIN", "CHECKOUT", "CONNECT", "COPY",
	"DELETE", "GET", "HEAD", "LABEL", "LINK", "LOCK", "MERGE", "MKACTIVITY",
	"MKCALENDAR", "MKCOL", "MKREDIRECTREF", "MKWORKSPACE", "MOVE", "OPTIONS",
	"ORDERPATCH", "PATCH", "POST", "PRI", "PROPFIND", "PROPPATCH", "PURGE", "PUT",
	"REBIND", "REPORT", "SEARCH", "TRACE", "UNBIND", "UNCHECKOUT", "UNLINK", "UNLOCK",
	"UPDATE", "UPDATEREDIRECTREF", "VERSION-CONTROL",
}

// maxMethodLen is the length of the longest method in httpMethods.
const maxMethodLen = len("UPDATEREDIRECTREF")

// DetectHTTP decides whether b, the first bytes of a plaintext connection, start HTTP.
// It returns ProtoH2C for the HTTP/2 connection preface, ProtoHTTP11 or ProtoHTTP10
// for an HTTP/1.x request line "METHOD SP request-target SP HTTP/1.x" ended by CR or
// LF, with a known method, and "" when b is not HTTP. needMore is true when b is a
// prefix of one of those and more bytes would decide; from MaxHTTPInspectSize bytes on
// it is always false. DetectHTTP does not allocate.
func DetectHTTP(b []byte) (proto string, needMore bool) {
	if len(b) == 0 {
		return "", true
	}
	n := min(len(b), len(h2Preface))
	if string(b[:n]) == h2Preface[:n] {
		if n < len(h2Preface) {
			return "", true
		}
		return ProtoH2C, false
	}
	proto, needMore = requestLine(b)
	if needMore && len(b) >= MaxHTTPInspectSize {
		return "", false
	}
	return proto, needMore
}

// requestLine checks an HTTP/1.x request line at the start of b, rejecting as soon as
// a byte rules it out.
func requestLine(b []byte) (proto string, needMore bool) {
	head := b[:min(len(b), maxMethodLen+1)]
	sp := bytes.IndexByte(head, ' ')
	method := head
	if sp >= 0 {
		method = head[:sp]
	}
	if !methodPrefix(method, sp >= 0) {
		return "", false
	}
	if sp < 0 {
		return "", true
	}
	rest := b[sp+1:]
	end := 0
	for end < len(rest) && rest[end] != ' ' {
		if !targetByte(rest[end]) {
			return "", false // a line end or a control byte before the version
		}
		end++
	}
	if end == len(rest) {
		return "", true
	}
	if end == 0 {
		return "", false // empty request-target
	}
	return version(rest[end+1:])
}

// version checks "HTTP/1.x" followed by CR or LF at the start of b.
func version(b []byte) (proto string, needMore bool) {
	const prefix = "HTTP/1."
	const vlen = len(prefix) + 1
	n := min(len(b), vlen)
	if string(b[:min(n, len(prefix))]) != prefix[:min(n, len(prefix))] {
		return "", false
	}
	if n < vlen {
		return "", true
	}
	switch {
	case b[vlen-1] != '0' && b[vlen-1] != '1':
		return "", false
	case len(b) == vlen:
		return "", true
	case b[vlen] != '\r' && b[vlen] != '\n':
		return "", false
	case b[vlen-1] == '1':
		return ProtoHTTP11, false
	}
	return ProtoHTTP10, false
}

// methodPrefix reports whether m is a known method, or, when complete is false, the
// beginning of one.
func methodPrefix(m []byte, complete bool) bool {
	if len(m) == 0 {
		return !complete
	}
	if m[0] < 'A' || m[0] > 'V' { // no method starts outside A..V
		return false
	}
	for _, known := range httpMethods {
		if complete && len(m) != len(known) || len(m) > len(known) {
			continue
		}
		if string(m) == known[:len(m)] {
			return true
		}
	}
	return false
}

// targetByte reports whether c may appear in a request-target: anything visible, and
// bytes above 0x7f, which some clients send unescaped.
func targetByte(c byte) bool {
	return c > ' ' && c != 0x7f
}
