package format

import (
	"errors"
	"strings"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// headerSource picks one of the stream's header maps.
type headerSource func(*streaminfo.Info) *header.Map

func requestHeaders(i *streaminfo.Info) *header.Map   { return i.RequestHeaders }
func responseHeaders(i *streaminfo.Info) *header.Map  { return i.ResponseHeaders }
func responseTrailers(i *streaminfo.Info) *header.Map { return i.ResponseTrailers }

// headerOp builds %REQ(X?Y):Z% and friends: the first value of header X, or of Y when
// X is absent. Names are case-insensitive.
func headerOp(src headerSource) func(string) (*operator, error) {
	return func(arg string) (*operator, error) {
		main, alt, err := parseHeaderNames(arg)
		if err != nil {
			return nil, err
		}
		return &operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
			m := src(info)
			if m == nil {
				return dst, false
			}
			v, ok := m.Lookup(main)
			if !ok && alt != "" {
				v, ok = m.Lookup(alt)
			}
			if !ok {
				return dst, false
			}
			return append(dst, v...), true
		}}, nil
	}
}

// parseHeaderNames splits "X?Y" into lowercase names; only one alternative is allowed.
func parseHeaderNames(arg string) (main, alt string, err error) {
	main, alt, _ = strings.Cut(arg, "?")
	if strings.Contains(alt, "?") {
		return "", "", errors.New("more than one alternative header")
	}
	if main == "" {
		return "", "", errors.New("empty header name")
	}
	for _, n := range []string{main, alt} {
		if !validHeaderName(n) {
			return "", "", errors.New("invalid character in header name")
		}
	}
	return strings.ToLower(main), strings.ToLower(alt), nil
}

// validHeaderName accepts an HTTP token, with a leading ':' for pseudo-headers.
func validHeaderName(s string) bool {
	s = strings.TrimPrefix(s, ":")
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}
