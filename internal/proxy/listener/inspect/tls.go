package inspect

// Transport protocol names, as Envoy's filter-chain match spells them.
const (
	TransportTLS       = "tls"
	TransportRawBuffer = "raw_buffer"
)

// TLS record layer constants (RFC 8446, section 5.1).
const (
	recordHeaderLen     = 5
	recordTypeHandshake = 0x16
	recordMajorVersion  = 0x03
	maxPlaintextLen     = 1 << 14
	handshakeHeaderLen  = 4
	typeClientHello     = 0x01
)

// detectTLSLen is how many bytes DetectTLS needs: the record header and the handshake
// message type.
const detectTLSLen = recordHeaderLen + 1

// DetectTLS reports whether b starts like a TLS connection: a handshake record
// (content type 0x16) of major version 3 and a sane length, carrying a ClientHello.
// It returns TransportTLS or TransportRawBuffer, or needMore when b is a prefix of a
// TLS record header too short to decide. It is a cheap check; ParseClientHello is the
// full one.
func DetectTLS(b []byte) (transport string, needMore bool) {
	n := min(len(b), detectTLSLen)
	for i := range n {
		if !tlsHeaderByteOK(b, i) {
			return TransportRawBuffer, false
		}
	}
	if n < detectTLSLen {
		return "", true
	}
	return TransportTLS, false
}

// tlsHeaderByteOK checks byte i of a record header followed by a handshake type, given
// that the bytes before it were checked already.
func tlsHeaderByteOK(b []byte, i int) bool {
	switch i {
	case 0:
		return b[0] == recordTypeHandshake
	case 1:
		return b[1] == recordMajorVersion
	case 2:
		return true // record minor version: any; clients send 0x01 for compatibility.
	case 3:
		return int(b[3])<<8 <= maxPlaintextLen
	case 4:
		n := int(b[3])<<8 | int(b[4])
		return n > 0 && n <= maxPlaintextLen
	default:
		return b[5] == typeClientHello
	}
}
