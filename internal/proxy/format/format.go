package format

import (
	"strings"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// DefaultFormat is Envoy's default access log format, used when an access log
// configures none. It ends with a newline.
const DefaultFormat = `[%START_TIME%] "%REQ(:METHOD)% %REQ(X-ENVOY-ORIGINAL-PATH?:PATH)% %PROTOCOL%" ` +
	`%RESPONSE_CODE% %RESPONSE_FLAGS% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% ` +
	`%RESP(X-ENVOY-UPSTREAM-SERVICE-TIME)% "%REQ(X-FORWARDED-FOR)%" "%REQ(USER-AGENT)%" ` +
	`"%REQ(X-REQUEST-ID)%" "%REQ(:AUTHORITY)%" "%UPSTREAM_HOST%"` + "\n"

// Options change how absent values are printed, as SubstitutionFormatString's fields do.
type Options struct {
	// OmitEmptyValues prints an absent value as nothing instead of "-" in text
	// formats, and leaves out keys whose value is null in JSON formats.
	OmitEmptyValues bool
}

// Formatter is a parsed text format string. It is immutable and safe for concurrent use.
type Formatter struct {
	segments  []segment
	omitEmpty bool
	static    string
	isStatic  bool
}

// segment is one piece of a format: literal text or one command operator.
type segment struct {
	literal string
	op      *operator
}

// Parse parses an Envoy format string with default options. Unknown operators and
// malformed ones are an error naming them.
func Parse(s string) (*Formatter, error) {
	return ParseText(s, Options{})
}

// ParseText parses an Envoy format string with the given options.
func ParseText(s string, opts Options) (*Formatter, error) {
	segs, err := parseSegments(s)
	if err != nil {
		return nil, err
	}
	f := &Formatter{segments: segs, omitEmpty: opts.OmitEmptyValues, isStatic: true}
	var b strings.Builder
	for _, seg := range segs {
		if seg.op != nil {
			f.isStatic = false
			break
		}
		b.WriteString(seg.literal)
	}
	if f.isStatic {
		f.static = b.String()
	}
	return f, nil
}

// Static returns the formatter's text and true when it has no operators, so callers
// can skip formatting altogether.
func (f *Formatter) Static() (string, bool) {
	return f.static, f.isStatic
}

// Append formats info and appends the result to dst. An absent value prints as "-",
// or as nothing when the format omits empty values.
func (f *Formatter) Append(dst []byte, info *streaminfo.Info) []byte {
	for i := range f.segments {
		s := &f.segments[i]
		if s.op == nil {
			dst = append(dst, s.literal...)
			continue
		}
		var ok bool
		dst, ok = s.op.appendText(dst, info)
		if !ok && !f.omitEmpty {
			dst = append(dst, '-')
		}
	}
	return dst
}

// Format returns the formatted string.
func (f *Formatter) Format(info *streaminfo.Info) string {
	if f.isStatic {
		return f.static
	}
	return string(f.Append(nil, info))
}
