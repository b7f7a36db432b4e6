package secret

import (
	"bytes"
	"crypto/tls"
)

// Session resumption across rotation. Envoy builds a new SSL context when a
// certificate or CA changes, so sessions from before the change are not resumed. weft
// keeps its tls.Config, so it binds sessions to a generation instead: a digest of the
// context's current certificates and CA bundle. A session of an older generation is
// not resumed, and the handshake falls back to a full one with the new certificates.

// generationLen is how many bytes of each certificate or bundle digest enter a
// generation: enough to tell versions apart, not a security boundary (the session
// ticket is encrypted and authenticated by crypto/tls).
const generationLen = 8

// generation returns the digest of c's current certificates and trusted CA bundle.
func (c *common) generation() []byte {
	var out []byte
	for _, src := range c.certs {
		if kp, err := src.get(); err == nil {
			out = append(out, kp.id[:generationLen]...)
		}
	}
	if ca := caOf(c); ca != nil {
		out = append(out, ca.id[:generationLen]...)
	}
	return out
}

// wrapSession adds the generation to a server session ticket.
func (s *serverContext) wrapSession(cs tls.ConnectionState, ss *tls.SessionState) ([]byte, error) {
	ss.Extra = append(ss.Extra, s.c.generation())
	return s.base.EncryptTicket(cs, ss)
}

// unwrapSession refuses, without error, a ticket of another generation.
func (s *serverContext) unwrapSession(identity []byte, cs tls.ConnectionState) (*tls.SessionState, error) {
	ss, err := s.base.DecryptTicket(identity, cs)
	if err != nil || ss == nil {
		return nil, err
	}
	if n := len(ss.Extra); n == 0 || !bytes.Equal(ss.Extra[n-1], s.c.generation()) {
		return nil, nil
	}
	return ss, nil
}

// sessionCache is a client session cache whose keys carry the generation, so that a
// rotated certificate or CA starts new sessions. Sessions of older generations age out
// of the LRU.
type sessionCache struct {
	c   *common
	lru tls.ClientSessionCache
}

var _ tls.ClientSessionCache = (*sessionCache)(nil)

// Get returns the session for key of the current generation.
func (sc *sessionCache) Get(key string) (*tls.ClientSessionState, bool) {
	return sc.lru.Get(string(sc.c.generation()) + key)
}

// Put stores the session for key under the current generation.
func (sc *sessionCache) Put(key string, cs *tls.ClientSessionState) {
	sc.lru.Put(string(sc.c.generation())+key, cs)
}
