package inspect

import (
	"bytes"
	"crypto/tls"
	"io"
	"net"
	"testing"
	"time"
)

// recordingConn is a net.Conn that keeps what is written to it and reads from a fixed
// buffer, then io.EOF. A TLS client handshake over it writes its ClientHello and fails.
type recordingConn struct {
	written bytes.Buffer
	toRead  bytes.Reader
}

func (c *recordingConn) Read(b []byte) (int, error)       { return c.toRead.Read(b) }
func (c *recordingConn) Write(b []byte) (int, error)      { return c.written.Write(b) }
func (c *recordingConn) Close() error                     { return nil }
func (c *recordingConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *recordingConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *recordingConn) SetDeadline(time.Time) error      { return nil }
func (c *recordingConn) SetReadDeadline(time.Time) error  { return nil }
func (c *recordingConn) SetWriteDeadline(time.Time) error { return nil }

// captureHello runs a crypto/tls client with cfg and returns the bytes it sends first:
// its ClientHello, in as many records as crypto/tls puts it.
func captureHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	c := &recordingConn{}
	if err := tls.Client(c, cfg).Handshake(); err == nil {
		t.Fatal("handshake against a silent peer succeeded")
	}
	if c.written.Len() == 0 {
		t.Fatal("client wrote nothing")
	}
	return c.written.Bytes()
}

// goHello is what crypto/tls's own server reads from a ClientHello: the oracle the
// parser is checked against.
type goHello struct {
	ServerName string
	ALPN       []string
	Versions   []uint16
}

func parseWithGo(t testing.TB, hello []byte) goHello {
	t.Helper()
	var got goHello
	seen := false
	cfg := &tls.Config{GetConfigForClient: func(info *tls.ClientHelloInfo) (*tls.Config, error) {
		seen = true
		got = goHello{ServerName: info.ServerName, ALPN: info.SupportedProtos, Versions: info.SupportedVersions}
		return nil, io.EOF // stop the handshake here
	}}
	c := &recordingConn{}
	c.toRead.Reset(hello)
	_ = tls.Server(c, cfg).Handshake()
	if !seen {
		t.Fatal("crypto/tls did not parse the hello")
	}
	return got
}

// refragment splits the handshake message carried by the records of hello into records
// of at most size payload bytes.
func refragment(t testing.TB, hello []byte, size int) []byte {
	t.Helper()
	msg, err := handshakeMessage(hello, 1<<24)
	if err != nil {
		t.Fatalf("handshakeMessage: %v", err)
	}
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, recordTypeHandshake, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

// helloBuilder builds ClientHellos field by field, for inputs crypto/tls never sends.
type helloBuilder struct {
	version      uint16
	sessionID    []byte
	cipherSuites []byte
	compression  []byte
	exts         [][]byte // each extension: type, length and data
	noExtensions bool
}

func newHello() *helloBuilder {
	return &helloBuilder{version: 0x0303, cipherSuites: []byte{0x13, 0x01}, compression: []byte{0}}
}

func (h *helloBuilder) ext(typ uint16, data []byte) *helloBuilder {
	e := append(u16(int(typ)), u16(len(data))...)
	h.exts = append(h.exts, append(e, data...))
	return h
}

// body returns the ClientHello body, without handshake header.
func (h *helloBuilder) body() []byte {
	b := u16(int(h.version))
	b = append(b, make([]byte, randomLen)...)
	b = append(b, byte(len(h.sessionID)))
	b = append(b, h.sessionID...)
	b = append(b, u16(len(h.cipherSuites))...)
	b = append(b, h.cipherSuites...)
	b = append(b, byte(len(h.compression)))
	b = append(b, h.compression...)
	if h.noExtensions {
		return b
	}
	exts := bytes.Join(h.exts, nil)
	b = append(b, u16(len(exts))...)
	return append(b, exts...)
}

// record returns the hello as one handshake record.
func (h *helloBuilder) record() []byte {
	body := h.body()
	msg := append([]byte{typeClientHello, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
	return append([]byte{recordTypeHandshake, 3, 1, byte(len(msg) >> 8), byte(len(msg))}, msg...)
}

func u16(n int) []byte { return []byte{byte(n >> 8), byte(n)} }

// sniExt returns server_name extension data holding the given names of type host_name.
func sniExt(names ...string) []byte {
	var list []byte
	for _, n := range names {
		list = append(list, hostNameType)
		list = append(list, u16(len(n))...)
		list = append(list, n...)
	}
	return append(u16(len(list)), list...)
}

// alpnExt returns ALPN extension data.
func alpnExt(protos ...string) []byte {
	var list []byte
	for _, p := range protos {
		list = append(list, byte(len(p)))
		list = append(list, p...)
	}
	return append(u16(len(list)), list...)
}
