package inspect

import (
	"errors"
	"fmt"
)

// DefaultMaxClientHelloSize is the largest ClientHello handshake message, header
// included, that ParseClientHello accepts: 16 KiB, the default and the upper bound of
// Envoy's tls_inspector max_client_hello_size. A ClientHello of that size arrives in
// one or two TLS records, so the peek buffer needs at most this plus two record
// headers.
const DefaultMaxClientHelloSize = 16 * 1024

// The errors ParseClientHello returns, to be told apart with errors.Is. Only ErrNeedMore
// asks for another, longer peek; the others are final for the connection.
var (
	// ErrNeedMore means the bytes so far are a valid beginning of a ClientHello, and
	// the rest has not arrived yet.
	ErrNeedMore = errors.New("need more bytes")
	// ErrNotTLS means the bytes do not start with a TLS handshake record holding a
	// ClientHello: the connection is plaintext (transport "raw_buffer").
	ErrNotTLS = errors.New("not a tls client hello")
	// ErrMalformed means the bytes start like a ClientHello but break its syntax.
	// Envoy treats such a connection as plaintext unless
	// close_connection_on_client_hello_parsing_errors is set.
	ErrMalformed = errors.New("malformed tls client hello")
	// ErrTooLarge means the ClientHello announces a size above the limit.
	ErrTooLarge = errors.New("tls client hello too large")
)

// Hello is what a listener filter needs from a TLS ClientHello.
type Hello struct {
	// ServerName is the host_name of the server_name (SNI) extension, as sent, or ""
	// when the client sent none.
	ServerName string
	// ALPN lists the application_layer_protocol_negotiation protocols in the client's
	// order of preference, or is nil.
	ALPN []string
	// Version is the ClientHello's legacy_version field: 0x0303 for TLS 1.2 and, for
	// compatibility, for TLS 1.3 clients too.
	Version uint16
	// SupportedVersions lists the supported_versions extension in the client's order,
	// GREASE values (RFC 8701) left out, or is nil when the client sent none.
	SupportedVersions []uint16
}

// MaxVersion returns the highest protocol version the client offers: the largest entry
// of SupportedVersions, or Version when the client sent no supported_versions.
func (h Hello) MaxVersion() uint16 {
	if len(h.SupportedVersions) == 0 {
		return h.Version
	}
	var v uint16
	for _, s := range h.SupportedVersions {
		v = max(v, s)
	}
	return v
}

// ParseClientHello parses the TLS ClientHello at the start of b, with the limit
// DefaultMaxClientHelloSize. See ParseClientHelloLimit.
func ParseClientHello(b []byte) (Hello, error) {
	return ParseClientHelloLimit(b, DefaultMaxClientHelloSize)
}

// ParseClientHelloLimit parses the TLS ClientHello at the start of b, which may span
// several handshake records. It returns an error wrapping ErrNeedMore when b is a
// proper prefix of a valid ClientHello, ErrNotTLS when b does not start with one,
// ErrMalformed when its syntax is broken, and ErrTooLarge when the handshake message
// (its 4-byte header included) would exceed limit bytes. Bytes after the ClientHello
// are ignored. It never panics, whatever b holds.
func ParseClientHelloLimit(b []byte, limit int) (Hello, error) {
	msg, err := handshakeMessage(b, limit)
	if err != nil {
		return Hello{}, err
	}
	return parseClientHello(msg[handshakeHeaderLen:])
}

// handshakeMessage returns the first handshake message of the records in b, header
// included, reassembled when it is split over several records. It aliases b when the
// message sits in one record.
func handshakeMessage(b []byte, limit int) ([]byte, error) {
	var msg []byte
	want := -1 // length of the whole message, once its header is known
	for off, first := 0, true; ; first = false {
		frag, complete, err := record(b[off:], first)
		if err != nil {
			return nil, err
		}
		// The first fragment is aliased; its capacity ends with it, so the first
		// append copies and b is never written.
		if first {
			msg = frag
		} else {
			msg = append(msg, frag...)
		}
		if len(msg) >= 1 && msg[0] != typeClientHello {
			return nil, fmt.Errorf("handshake message type %d: %w", msg[0], ErrNotTLS)
		}
		if want < 0 && len(msg) >= handshakeHeaderLen {
			want = handshakeHeaderLen + (int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3]))
			if want > limit {
				return nil, fmt.Errorf("%d bytes, limit %d: %w", want, limit, ErrTooLarge)
			}
		}
		if want >= 0 && len(msg) >= want {
			return msg[:want], nil
		}
		if !complete {
			return nil, ErrNeedMore
		}
		off += recordHeaderLen + len(frag)
	}
}

// record returns the payload of the TLS record at the start of b, or as much of it as
// b holds, and whether it is complete. The first record decides between TLS and not
// TLS; a later one that is not a handshake record makes the hello malformed.
func record(b []byte, first bool) (payload []byte, complete bool, err error) {
	notTLS := ErrNotTLS
	if !first {
		notTLS = ErrMalformed
	}
	if len(b) >= 1 && b[0] != recordTypeHandshake {
		return nil, false, fmt.Errorf("record type %d: %w", b[0], notTLS)
	}
	if len(b) >= 2 && b[1] != recordMajorVersion {
		return nil, false, fmt.Errorf("record major version %d: %w", b[1], notTLS)
	}
	if len(b) < recordHeaderLen {
		return nil, false, ErrNeedMore
	}
	n := int(b[3])<<8 | int(b[4])
	if n == 0 || n > maxPlaintextLen {
		return nil, false, fmt.Errorf("record length %d: %w", n, ErrMalformed)
	}
	end := min(len(b), recordHeaderLen+n)
	// The capacity is cut so that appending to the payload never writes into b.
	return b[recordHeaderLen:end:end], end == recordHeaderLen+n, nil
}
