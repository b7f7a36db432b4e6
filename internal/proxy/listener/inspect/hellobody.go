package inspect

import "fmt"

// ClientHello extensions read here (IANA TLS ExtensionType values).
const (
	extServerName        = 0
	extALPN              = 16
	extSupportedVersions = 43
)

// Limits from RFC 8446 and RFC 6066.
const (
	randomLen       = 32
	maxSessionIDLen = 32
	maxHostNameLen  = 255
	hostNameType    = 0
)

// parseClientHello parses the body of a ClientHello handshake message (RFC 8446,
// section 4.1.2; RFC 5246, section 7.4.1.2 for the forms without extensions).
func parseClientHello(body []byte) (Hello, error) {
	r := reader{b: body}
	h := Hello{Version: uint16(r.u16())}
	r.skip(randomLen)
	if sid := r.vec8(); len(sid) > maxSessionIDLen {
		return Hello{}, malformed("session id of %d bytes", len(sid))
	}
	if cs := r.vec16(); len(cs) == 0 || len(cs)%2 != 0 {
		return Hello{}, malformed("cipher suites of %d bytes", len(cs))
	}
	if cm := r.vec8(); len(cm) == 0 {
		return Hello{}, malformed("no compression methods")
	}
	if r.bad {
		return Hello{}, malformed("truncated before extensions")
	}
	if r.empty() { // TLS 1.0-1.2 allow a hello without extensions.
		return h, nil
	}
	exts := r.vec16()
	if r.bad || !r.empty() {
		return Hello{}, malformed("extensions block does not end the message")
	}
	if err := parseExtensions(exts, &h); err != nil {
		return Hello{}, err
	}
	return h, nil
}

// parseExtensions reads the extensions block into h. A repeated extension is an error
// (RFC 8446, section 4.2).
func parseExtensions(b []byte, h *Hello) error {
	var seen [1 << 16 / 64]uint64
	r := reader{b: b}
	for !r.empty() {
		typ := r.u16()
		data := r.vec16()
		if r.bad {
			return malformed("truncated extension")
		}
		if seen[typ/64]&(1<<(typ%64)) != 0 {
			return malformed("extension %d repeated", typ)
		}
		seen[typ/64] |= 1 << (typ % 64)
		var err error
		switch typ {
		case extServerName:
			h.ServerName, err = parseServerName(data)
		case extALPN:
			h.ALPN, err = parseALPN(data)
		case extSupportedVersions:
			h.SupportedVersions, err = parseSupportedVersions(data)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// parseServerName reads a server_name extension (RFC 6066, section 3). Like BoringSSL,
// it accepts exactly one name, of type host_name, non-empty, at most 255 bytes and
// without a NUL byte.
func parseServerName(b []byte) (string, error) {
	r := reader{b: b}
	list := r.vec16()
	if r.bad || !r.empty() {
		return "", malformed("server_name list length")
	}
	l := reader{b: list}
	typ := l.u8()
	name := l.vec16()
	switch {
	case l.bad || !l.empty():
		return "", malformed("server_name must hold exactly one name")
	case typ != hostNameType:
		return "", malformed("server_name type %d", typ)
	case len(name) == 0 || len(name) > maxHostNameLen:
		return "", malformed("server_name host_name of %d bytes", len(name))
	}
	for _, c := range name {
		if c == 0 {
			return "", malformed("server_name host_name holds a NUL byte")
		}
	}
	return string(name), nil
}

// parseALPN reads an application_layer_protocol_negotiation extension (RFC 7301,
// section 3.1): a non-empty list of non-empty protocol names.
func parseALPN(b []byte) ([]string, error) {
	r := reader{b: b}
	list := r.vec16()
	if r.bad || !r.empty() || len(list) == 0 {
		return nil, malformed("alpn list length")
	}
	var protos []string
	for l := (reader{b: list}); !l.empty(); {
		p := l.vec8()
		if l.bad || len(p) == 0 {
			return nil, malformed("alpn protocol name")
		}
		protos = append(protos, string(p))
	}
	return protos, nil
}

// parseSupportedVersions reads a ClientHello supported_versions extension (RFC 8446,
// section 4.2.1), leaving out GREASE values.
func parseSupportedVersions(b []byte) ([]uint16, error) {
	r := reader{b: b}
	list := r.vec8()
	if r.bad || !r.empty() || len(list) == 0 || len(list)%2 != 0 {
		return nil, malformed("supported_versions list length")
	}
	vs := make([]uint16, 0, len(list)/2)
	for i := 0; i+1 < len(list); i += 2 {
		v := uint16(list[i])<<8 | uint16(list[i+1])
		if !isGREASE(v) {
			vs = append(vs, v)
		}
	}
	return vs, nil
}

// isGREASE reports whether v is one of the reserved values of RFC 8701: 0x0a0a,
// 0x1a1a, ..., 0xfafa.
func isGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), ErrMalformed)
}

// reader reads big-endian integers and length-prefixed vectors. Reading past the end
// sets bad and yields zero values, so a parse checks bad once instead of at each step.
type reader struct {
	b   []byte
	bad bool
}

func (r *reader) empty() bool { return len(r.b) == 0 }

func (r *reader) take(n int) []byte {
	if r.bad || n > len(r.b) {
		r.bad = true
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) skip(n int) { r.take(n) }

func (r *reader) u8() int {
	v := r.take(1)
	if len(v) < 1 {
		return 0
	}
	return int(v[0])
}

func (r *reader) u16() int {
	v := r.take(2)
	if len(v) < 2 {
		return 0
	}
	return int(v[0])<<8 | int(v[1])
}

func (r *reader) vec8() []byte  { return r.take(r.u8()) }
func (r *reader) vec16() []byte { return r.take(r.u16()) }
