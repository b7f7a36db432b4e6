package format

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// Envoy's START_TIME defaults: UTC with milliseconds, or local time with the offset.
const (
	defaultTimeFormat      = "%Y-%m-%dT%H:%M:%E3SZ"
	defaultLocalTimeFormat = "%Y-%m-%dT%H:%M:%E3S%z"
)

// Internal verbs for the fractional-second specifiers.
const (
	verbFrac    = 'f' // %f, %Nf, %E#f, %E*f: fraction digits only
	verbSecFrac = 'P' // %E#S, %E*S: seconds, then '.' and the fraction
	verbOffset  = 'O' // %Ez: +hh:mm
	verbYear4   = 'V' // %E4Y: year padded to four digits
)

// timePart is literal text (verb 0) or one strftime specifier. width is the number
// of fraction digits for the fractional verbs; -1 means as many as needed.
type timePart struct {
	lit   string
	verb  byte
	width int
}

// timeFormat is a compiled strftime-style format as START_TIME accepts it.
type timeFormat struct {
	parts []timePart
	local bool
}

// startTimeOp builds %START_TIME(FORMAT)% and %START_TIME_LOCAL(FORMAT)%.
func startTimeOp(local bool) func(string) (*operator, error) {
	return func(arg string) (*operator, error) {
		tf, err := compileTimeFormat(arg, local)
		if err != nil {
			return nil, err
		}
		return &operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
			if info.Start.IsZero() {
				return dst, false
			}
			return tf.append(dst, info.Start), true
		}}, nil
	}
}

// simpleVerbs are the strftime conversions supported without modifiers.
const simpleVerbs = "aAbBcCdDeFHIjmMprRsStTuwxXyYzZ%"

// compileTimeFormat parses a strftime format with Envoy's extensions: %s (epoch
// seconds), %f and %1f..%9f (fraction of a second, truncated) and absl's %E#S, %E*S,
// %E#f, %E*f, %Ez and %E4Y. The empty format is Envoy's default.
func compileTimeFormat(s string, local bool) (*timeFormat, error) {
	if s == "" {
		s = defaultTimeFormat
		if local {
			s = defaultLocalTimeFormat
		}
	}
	tf := &timeFormat{local: local}
	for len(s) > 0 {
		i := strings.IndexByte(s, '%')
		if i < 0 {
			i = len(s)
		}
		if i > 0 {
			tf.parts = append(tf.parts, timePart{lit: s[:i]})
			s = s[i:]
			continue
		}
		p, n, err := compileSpecifier(s)
		if err != nil {
			return nil, err
		}
		tf.parts = append(tf.parts, p)
		s = s[n:]
	}
	return tf, nil
}

// compileSpecifier compiles the specifier at the start of s ("%..."), returning it
// and its length.
func compileSpecifier(s string) (timePart, int, error) {
	if len(s) < 2 {
		return timePart{}, 0, errors.New("time format ends with '%'")
	}
	c := s[1]
	switch {
	case c == 'n':
		return timePart{}, 0, errors.New("time format contains a newline")
	case c == 'f':
		return timePart{verb: verbFrac, width: 9}, 2, nil
	case c >= '1' && c <= '9' && len(s) > 2 && s[2] == 'f':
		return timePart{verb: verbFrac, width: int(c - '0')}, 3, nil
	case c == 'E':
		return compileExtended(s)
	case strings.IndexByte(simpleVerbs, c) >= 0:
		return timePart{verb: c}, 2, nil
	}
	return timePart{}, 0, fmt.Errorf("unsupported time specifier %q", s[:2])
}

// compileExtended compiles absl's %E specifiers.
func compileExtended(s string) (timePart, int, error) {
	switch {
	case strings.HasPrefix(s, "%Ez"):
		return timePart{verb: verbOffset}, 3, nil
	case strings.HasPrefix(s, "%E4Y"):
		return timePart{verb: verbYear4}, 4, nil
	case strings.HasPrefix(s, "%E*S"):
		return timePart{verb: verbSecFrac, width: -1}, 4, nil
	case strings.HasPrefix(s, "%E*f"):
		return timePart{verb: verbFrac, width: -1}, 4, nil
	}
	if len(s) > 3 && s[2] >= '0' && s[2] <= '9' && (s[3] == 'S' || s[3] == 'f') {
		verb := byte(verbFrac)
		if s[3] == 'S' {
			verb = verbSecFrac
		}
		return timePart{verb: verb, width: int(s[2] - '0')}, 4, nil
	}
	return timePart{}, 0, fmt.Errorf("unsupported time specifier in %q", s)
}

// append formats t. It does not allocate.
func (tf *timeFormat) append(dst []byte, t time.Time) []byte {
	if tf.local {
		t = t.Local()
	} else {
		t = t.UTC()
	}
	for i := range tf.parts {
		p := &tf.parts[i]
		if p.verb == 0 {
			dst = append(dst, p.lit...)
			continue
		}
		dst = appendVerb(dst, p, t)
	}
	return dst
}

var (
	shortDays   = [...]string{"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"}
	longDays    = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	shortMonths = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}
	longMonths  = [...]string{"January", "February", "March", "April", "May", "June", "July",
		"August", "September", "October", "November", "December"}
)

// appendVerb appends one specifier's value.
func appendVerb(dst []byte, p *timePart, t time.Time) []byte {
	switch p.verb {
	case 'Y':
		return strconv.AppendInt(dst, int64(t.Year()), 10)
	case verbYear4:
		return appendPadded(dst, t.Year(), 4, '0')
	case 'C':
		return appendPadded(dst, t.Year()/100, 2, '0')
	case 'y':
		return appendPadded(dst, t.Year()%100, 2, '0')
	case 'm':
		return appendPadded(dst, int(t.Month()), 2, '0')
	case 'd':
		return appendPadded(dst, t.Day(), 2, '0')
	case 'e':
		return appendPadded(dst, t.Day(), 2, ' ')
	case 'j':
		return appendPadded(dst, t.YearDay(), 3, '0')
	case 'H':
		return appendPadded(dst, t.Hour(), 2, '0')
	case 'I':
		return appendPadded(dst, (t.Hour()+11)%12+1, 2, '0')
	case 'M':
		return appendPadded(dst, t.Minute(), 2, '0')
	case 'S':
		return appendPadded(dst, t.Second(), 2, '0')
	case 's':
		return strconv.AppendInt(dst, t.Unix(), 10)
	case verbFrac:
		return appendFraction(dst, t.Nanosecond(), p.width)
	case verbSecFrac:
		return appendSecondsFraction(dst, t, p)
	}
	return appendNamedVerb(dst, p.verb, t)
}

// appendNamedVerb appends the name, zone and composite specifiers.
func appendNamedVerb(dst []byte, verb byte, t time.Time) []byte {
	switch verb {
	case 'a':
		return append(dst, shortDays[t.Weekday()]...)
	case 'A':
		return append(dst, longDays[t.Weekday()]...)
	case 'b':
		return append(dst, shortMonths[t.Month()-1]...)
	case 'B':
		return append(dst, longMonths[t.Month()-1]...)
	case 'p':
		if t.Hour() < 12 {
			return append(dst, "AM"...)
		}
		return append(dst, "PM"...)
	case 'u':
		return strconv.AppendInt(dst, int64((t.Weekday()+6)%7+1), 10)
	case 'w':
		return strconv.AppendInt(dst, int64(t.Weekday()), 10)
	case 'z', verbOffset:
		return appendOffset(dst, t, verb == verbOffset)
	case 'Z':
		name, _ := t.Zone()
		return append(dst, name...)
	case 't':
		return append(dst, '\t')
	case '%':
		return append(dst, '%')
	}
	return appendComposite(dst, verb, t)
}

// composites are the specifiers that stand for a sequence of others.
var composites = map[byte][]timePart{
	'c': {{verb: 'a'}, {lit: " "}, {verb: 'b'}, {lit: " "}, {verb: 'e'}, {lit: " "}, {verb: 'H'},
		{lit: ":"}, {verb: 'M'}, {lit: ":"}, {verb: 'S'}, {lit: " "}, {verb: 'Y'}},
	'D': {{verb: 'm'}, {lit: "/"}, {verb: 'd'}, {lit: "/"}, {verb: 'y'}},
	'x': {{verb: 'm'}, {lit: "/"}, {verb: 'd'}, {lit: "/"}, {verb: 'y'}},
	'F': {{verb: 'Y'}, {lit: "-"}, {verb: 'm'}, {lit: "-"}, {verb: 'd'}},
	'R': {{verb: 'H'}, {lit: ":"}, {verb: 'M'}},
	'T': {{verb: 'H'}, {lit: ":"}, {verb: 'M'}, {lit: ":"}, {verb: 'S'}},
	'X': {{verb: 'H'}, {lit: ":"}, {verb: 'M'}, {lit: ":"}, {verb: 'S'}},
	'r': {{verb: 'I'}, {lit: ":"}, {verb: 'M'}, {lit: ":"}, {verb: 'S'}, {lit: " "}, {verb: 'p'}},
}

func appendComposite(dst []byte, verb byte, t time.Time) []byte {
	for i := range composites[verb] {
		p := &composites[verb][i]
		if p.verb == 0 {
			dst = append(dst, p.lit...)
		} else {
			dst = appendVerb(dst, p, t)
		}
	}
	return dst
}

// appendOffset appends the zone offset as +hhmm, or +hh:mm when colon is set.
func appendOffset(dst []byte, t time.Time, colon bool) []byte {
	_, off := t.Zone()
	sign := byte('+')
	if off < 0 {
		sign, off = '-', -off
	}
	dst = append(dst, sign)
	dst = appendPadded(dst, off/3600, 2, '0')
	if colon {
		dst = append(dst, ':')
	}
	return appendPadded(dst, off/60%60, 2, '0')
}

// appendSecondsFraction appends %E#S / %E*S: two-digit seconds and the fraction.
func appendSecondsFraction(dst []byte, t time.Time, p *timePart) []byte {
	dst = appendPadded(dst, t.Second(), 2, '0')
	if p.width == 0 || p.width < 0 && t.Nanosecond() == 0 {
		return dst
	}
	dst = append(dst, '.')
	return appendFraction(dst, t.Nanosecond(), p.width)
}

// appendFraction appends the first width digits of the nanoseconds, truncated; a
// negative width means every digit up to the last non-zero one.
func appendFraction(dst []byte, nsec, width int) []byte {
	var digits [9]byte
	for i := 8; i >= 0; i-- {
		digits[i] = byte('0' + nsec%10)
		nsec /= 10
	}
	if width < 0 {
		width = 9
		for width > 1 && digits[width-1] == '0' {
			width--
		}
	}
	return append(dst, digits[:width]...)
}

// appendPadded appends v padded on the left with pad to at least width digits.
func appendPadded(dst []byte, v, width int, pad byte) []byte {
	if v < 0 {
		dst = append(dst, '-')
		v = -v
	}
	var buf [20]byte
	b := strconv.AppendInt(buf[:0], int64(v), 10)
	for i := len(b); i < width; i++ {
		dst = append(dst, pad)
	}
	return append(dst, b...)
}
