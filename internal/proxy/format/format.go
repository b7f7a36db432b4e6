package format

import (
	"fmt"
	"strings"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// Formatter is a parsed format string. It is immutable and safe for concurrent use.
type Formatter struct {
	segments []segment
}

// segment is one piece of a format: literal text or one command operator.
type segment struct {
	literal string
	op      func(dst []byte, info *streaminfo.Info) []byte
}

// Parse parses an Envoy format string. Unknown operators are an error naming them.
func Parse(s string) (*Formatter, error) {
	f := &Formatter{}
	for len(s) > 0 {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			f.segments = append(f.segments, segment{literal: s})
			break
		}
		if i > 0 {
			f.segments = append(f.segments, segment{literal: s[:i]})
		}
		s = s[i+1:]
		j := strings.IndexByte(s, '%')
		if j < 0 {
			return nil, fmt.Errorf("format: unterminated operator %%%s", s)
		}
		if j == 0 { // "%%" is a literal percent sign
			f.segments = append(f.segments, segment{literal: "%"})
			s = s[1:]
			continue
		}
		op, err := parseOperator(s[:j])
		if err != nil {
			return nil, err
		}
		f.segments = append(f.segments, segment{op: op})
		s = s[j+1:]
	}
	return f, nil
}

// Static returns the formatter's text and true when it has no operators, so callers
// can skip formatting altogether.
func (f *Formatter) Static() (string, bool) {
	var b strings.Builder
	for _, s := range f.segments {
		if s.op != nil {
			return "", false
		}
		b.WriteString(s.literal)
	}
	return b.String(), true
}

// Append formats info and appends the result to dst.
func (f *Formatter) Append(dst []byte, info *streaminfo.Info) []byte {
	for _, s := range f.segments {
		if s.op != nil {
			dst = s.op(dst, info)
		} else {
			dst = append(dst, s.literal...)
		}
	}
	return dst
}

// Format returns the formatted string.
func (f *Formatter) Format(info *streaminfo.Info) string {
	if s, ok := f.Static(); ok {
		return s
	}
	return string(f.Append(nil, info))
}

// parseOperator compiles one %COMMAND(arg):len% operator (without the percent signs).
func parseOperator(cmd string) (func([]byte, *streaminfo.Info) []byte, error) {
	switch cmd {
	case "DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT":
		return func(dst []byte, info *streaminfo.Info) []byte {
			a := info.Downstream.RemoteAddress
			if !a.IsValid() {
				return append(dst, '-')
			}
			return a.Addr().AppendTo(dst)
		}, nil
	}
	return nil, fmt.Errorf("format: unsupported operator %%%s%%", cmd)
}
