package http1

import (
	"strings"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// fieldState collects what the framing fields of one head say.
type fieldState struct {
	contentLength int64
	haveCL        bool
	hosts         int
	chunked       bool
	haveTE        bool
	connClose     bool
	connKeepAlive bool
	connUpgrade   bool
	upgrade       bool
	connTokens    string // other tokens of the connection field, hop-by-hop names
}

// addFields adds the fields recorded by scanFields to h, consuming the hop-by-hop ones
// into head. s is the head as a string; the field values are substrings of it.
func (r *Reader) addFields(h *header.Map, head *Head, s string, request bool) error {
	var st fieldState
	for _, sp := range r.spans {
		name, value := s[sp.n0:sp.n1], s[sp.v0:sp.v1]
		keep, err := st.field(h, name, value, request)
		if err != nil {
			return err
		}
		if keep {
			h.Add(name, value)
		}
	}
	return st.apply(h, head, request)
}

// field interprets one field and reports whether it is forwarded.
func (st *fieldState) field(h *header.Map, name, value string, request bool) (bool, error) {
	switch name {
	case "host":
		if !request {
			return true, nil
		}
		st.hosts++
		if st.hosts > 1 {
			return false, malformed("duplicate host header")
		}
		if !h.Has(header.Authority) { // an absolute-form target's authority wins
			h.Add(header.Authority, value)
		}
		return false, nil
	case "content-length":
		n, ok := parseContentLength(value)
		if !ok || (st.haveCL && n != st.contentLength) {
			return false, errBadCL
		}
		if st.haveCL {
			return false, nil
		}
		st.contentLength, st.haveCL = n, true
		return true, nil
	case "transfer-encoding":
		if st.haveTE || !strings.EqualFold(strings.TrimSpace(value), "chunked") {
			return false, errBadTE
		}
		st.haveTE, st.chunked = true, true
		return false, nil
	case "connection":
		st.connection(value)
		return false, nil
	case "upgrade":
		st.upgrade = true
		return true, nil
	case "keep-alive", "proxy-connection":
		return false, nil
	case "te":
		return request && strings.EqualFold(value, "trailers"), nil
	}
	return true, nil
}

func (st *fieldState) connection(value string) {
	for value != "" {
		var tok string
		tok, value, _ = strings.Cut(value, ",")
		tok = strings.TrimSpace(tok)
		switch {
		case strings.EqualFold(tok, "close"):
			st.connClose = true
		case strings.EqualFold(tok, "keep-alive"):
			st.connKeepAlive = true
		case strings.EqualFold(tok, "upgrade"):
			st.connUpgrade = true
		case tok != "":
			st.connTokens += strings.ToLower(tok) + ","
		}
	}
}

// apply settles keep-alive, upgrade and body framing.
func (st *fieldState) apply(h *header.Map, head *Head, request bool) error {
	if st.connClose {
		head.KeepAlive = false
	} else if st.connKeepAlive {
		head.KeepAlive = true
	}
	if st.connTokens != "" {
		h.DelFunc(func(f header.Field) bool {
			return strings.Contains(","+st.connTokens, ","+f.Name+",")
		})
	}
	head.Upgrade = st.upgrade && st.connUpgrade
	if !head.Upgrade && st.upgrade {
		h.Del("upgrade")
	}
	if v := h.Get("expect"); request && strings.EqualFold(v, "100-continue") {
		head.ExpectContinue = true
	}
	switch {
	case st.chunked && st.haveCL && request:
		return errCLandTE
	case st.chunked:
		h.Del("content-length")
		head.Body = Framing{Length: -1, Chunked: true}
	case st.haveCL:
		head.Body = Framing{Length: st.contentLength}
	}
	return nil
}

// parseContentLength parses a non-negative decimal length.
func parseContentLength(v string) (int64, bool) {
	if v == "" || len(v) > 18 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	return n, true
}

// isToken reports whether c may appear in a token (methods, field names).
func isToken(c byte) bool { return tokenTable[c] }

var tokenTable = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for _, c := range "!#$%&'*+-.^_`|~" {
		t[c] = true
	}
	return t
}()
