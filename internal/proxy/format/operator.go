package format

import (
	"errors"
	"maps"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// kind is the JSON type an operator renders as in a JSON format.
type kind uint8

const (
	kindString kind = iota // a JSON string
	kindNumber             // a JSON number: the text form is its digits
	kindValue              // any JSON value, written by operator.value
)

// appendFunc appends an operator's text to dst and reports whether the value was
// present; when it was not, dst is returned unchanged.
type appendFunc func(dst []byte, info *streaminfo.Info) ([]byte, bool)

// operator is one compiled command operator.
type operator struct {
	kind   kind
	maxLen int // truncation of the text form in bytes; -1 for none
	text   appendFunc
	value  appendFunc // the JSON form, for kindValue only
}

// appendText appends the operator's text form, truncated to maxLen.
func (o *operator) appendText(dst []byte, info *streaminfo.Info) ([]byte, bool) {
	n := len(dst)
	dst, ok := o.text(dst, info)
	if ok && o.maxLen >= 0 && len(dst)-n > o.maxLen {
		dst = dst[:n+o.maxLen]
	}
	return dst, ok
}

// operators maps each supported command to how it is built.
var operators = buildOperators()

func buildOperators() map[string]spec {
	m := map[string]spec{
		"REQ":              {arg: argRequired, length: true, build: headerOp(requestHeaders)},
		"RESP":             {arg: argRequired, length: true, build: headerOp(responseHeaders)},
		"TRAILER":          {arg: argRequired, length: true, build: headerOp(responseTrailers)},
		"DYNAMIC_METADATA": {arg: argRequired, length: true, build: metadataOp},
		"START_TIME":       {arg: argOptional, build: startTimeOp(false)},
		"START_TIME_LOCAL": {arg: argOptional, build: startTimeOp(true)},
		"ENVIRONMENT":      {arg: argRequired, length: true, build: environmentOp},
		"HOSTNAME":         {build: hostnameOp},
	}
	for _, group := range []map[string]spec{stringOperators(), numberOperators(), addressOperators(), tlsOperators()} {
		maps.Copy(m, group)
	}
	return m
}

// fixed is the spec of an operator without an argument; each use gets a copy.
func fixed(op *operator) spec {
	return spec{build: func(string) (*operator, error) {
		c := *op
		return &c, nil
	}}
}

// str is an operator printing a string field; "" is absent.
func str(get func(*streaminfo.Info) string) spec {
	return fixed(&operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		s := get(info)
		if s == "" {
			return dst, false
		}
		return append(dst, s...), true
	}})
}

// underscored is str with every space replaced by '_', as Envoy prints failure reasons.
func underscored(get func(*streaminfo.Info) string) spec {
	return fixed(&operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		s := get(info)
		if s == "" {
			return dst, false
		}
		return appendReplacingSpace(dst, s, false), true
	}})
}

// appendReplacingSpace appends s with ' ' (and, when all is set, every ASCII
// whitespace byte) replaced by '_'.
func appendReplacingSpace(dst []byte, s string, all bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' || all && (c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r') {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

func stringOperators() map[string]spec {
	return map[string]spec{
		"PROTOCOL":                          str(func(i *streaminfo.Info) string { return i.Protocol }),
		"CONNECTION_TERMINATION_DETAILS":    str(func(i *streaminfo.Info) string { return i.ConnectionTerminationDetails }),
		"UPSTREAM_CLUSTER":                  str(func(i *streaminfo.Info) string { return i.UpstreamCluster }),
		"UPSTREAM_CLUSTER_RAW":              str(func(i *streaminfo.Info) string { return i.UpstreamCluster }),
		"UPSTREAM_TRANSPORT_FAILURE_REASON": underscored(func(i *streaminfo.Info) string { return i.UpstreamTransportFailureReason }),
		"REQUESTED_SERVER_NAME":             str(func(i *streaminfo.Info) string { return i.Downstream.RequestedServerName }),
		"ROUTE_NAME":                        str(func(i *streaminfo.Info) string { return i.RouteName }),
		"VIRTUAL_CLUSTER_NAME":              str(func(i *streaminfo.Info) string { return i.VirtualClusterName }),
		"RESPONSE_FLAGS":                    flagsOp(false),
		"RESPONSE_FLAGS_LONG":               flagsOp(true),
		"RESPONSE_CODE_DETAILS":             {arg: argOptional, build: responseCodeDetailsOp},
		"UPSTREAM_HOST_NAME":                fixed(&operator{text: upstreamHostName(true)}),
		"UPSTREAM_HOST_NAME_WITHOUT_PORT":   fixed(&operator{text: upstreamHostName(false)}),
	}
}

func flagsOp(long bool) spec {
	return fixed(&operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		return info.Flags.Append(dst, long), true
	}})
}

// responseCodeDetailsOp prints the details with whitespace replaced by '_' unless the
// argument is ALLOW_WHITESPACES.
func responseCodeDetailsOp(arg string) (*operator, error) {
	if arg != "" && arg != "ALLOW_WHITESPACES" {
		return nil, errors.New("argument must be ALLOW_WHITESPACES")
	}
	keep := arg != ""
	return &operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		s := info.ResponseCodeDetails
		if s == "" {
			return dst, false
		}
		if keep {
			return append(dst, s...), true
		}
		return appendReplacingSpace(dst, s, true), true
	}}, nil
}

// upstreamHostName prints the host's configured hostname, or its address.
func upstreamHostName(port bool) appendFunc {
	return func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		if name := info.UpstreamHostname; name != "" {
			if !port {
				name = stripPort(name)
			}
			return append(dst, name...), true
		}
		return appendAddr(dst, info.UpstreamHost, port)
	}
}

// stripPort removes a trailing ":port" from a host, leaving bracketed IPv6 alone.
func stripPort(host string) string {
	i := len(host) - 1
	for i >= 0 && host[i] >= '0' && host[i] <= '9' {
		i--
	}
	if i >= 0 && i < len(host)-1 && host[i] == ':' {
		h := host[:i]
		if len(h) == 0 || h[len(h)-1] == ']' || strings.IndexByte(h, ':') < 0 {
			return h
		}
	}
	return host
}

// num is an operator printing a number that is always present.
func num(get func(*streaminfo.Info) int64) spec {
	return fixed(&operator{kind: kindNumber, text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		return strconv.AppendInt(dst, get(info), 10), true
	}})
}

// dur is an operator printing a duration in whole milliseconds; zero is absent.
func dur(get func(*streaminfo.Info) time.Duration) spec {
	return fixed(&operator{kind: kindNumber, text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		d := get(info)
		if d <= 0 {
			return dst, false
		}
		return strconv.AppendInt(dst, d.Milliseconds(), 10), true
	}})
}

func numberOperators() map[string]spec {
	return map[string]spec{
		"RESPONSE_CODE":                  num(func(i *streaminfo.Info) int64 { return int64(i.ResponseCode) }),
		"BYTES_RECEIVED":                 num(func(i *streaminfo.Info) int64 { return i.BytesReceived }),
		"BYTES_SENT":                     num(func(i *streaminfo.Info) int64 { return i.BytesSent }),
		"UPSTREAM_REQUEST_ATTEMPT_COUNT": num(func(i *streaminfo.Info) int64 { return int64(i.Attempts) }),
		"DURATION":                       dur(totalDuration),
		"REQUEST_DURATION":               dur(func(i *streaminfo.Info) time.Duration { return i.LastDownstreamRxByte }),
		"REQUEST_TX_DURATION":            dur(func(i *streaminfo.Info) time.Duration { return i.LastUpstreamTxByte }),
		"RESPONSE_DURATION":              dur(func(i *streaminfo.Info) time.Duration { return i.FirstUpstreamRxByte }),
		"RESPONSE_TX_DURATION":           dur(responseTxDuration),
		"CONNECTION_ID": fixed(&operator{kind: kindNumber, text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
			return strconv.AppendUint(dst, info.Downstream.ConnectionID, 10), true
		}}),
	}
}

// totalDuration is the stream's duration: its end when it has finished, otherwise
// the time elapsed so far, as Envoy's currentDuration.
func totalDuration(i *streaminfo.Info) time.Duration {
	if i.End > 0 {
		return i.End
	}
	if i.Start.IsZero() {
		return 0
	}
	return max(i.Since(), 1)
}

// responseTxDuration is the time from the first upstream byte received to the last
// downstream byte sent.
func responseTxDuration(i *streaminfo.Info) time.Duration {
	if i.LastDownstreamTxByte <= 0 || i.FirstUpstreamRxByte <= 0 {
		return 0
	}
	return max(i.LastDownstreamTxByte-i.FirstUpstreamRxByte, 1)
}

// addrMode selects how an address operator prints.
type addrMode uint8

const (
	withPort addrMode = iota
	withoutPort
	justPort
)

// appendAddr appends ap with or without its port; an invalid address is absent.
func appendAddr(dst []byte, ap netip.AddrPort, port bool) ([]byte, bool) {
	if !ap.IsValid() {
		return dst, false
	}
	if port {
		return ap.AppendTo(dst), true
	}
	return ap.Addr().AppendTo(dst), true
}

// addr is an operator printing an address field.
func addr(get func(*streaminfo.Info) netip.AddrPort, mode addrMode) spec {
	if mode == justPort {
		return fixed(&operator{kind: kindNumber, text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
			ap := get(info)
			if !ap.IsValid() {
				return dst, false
			}
			return strconv.AppendUint(dst, uint64(ap.Port()), 10), true
		}})
	}
	return fixed(&operator{text: func(dst []byte, info *streaminfo.Info) ([]byte, bool) {
		return appendAddr(dst, get(info), mode == withPort)
	}})
}

// addrFamily adds NAME, NAME_WITHOUT_PORT and the port operator for one address.
func addrFamily(m map[string]spec, name, portName string, get func(*streaminfo.Info) netip.AddrPort) {
	m[name] = addr(get, withPort)
	m[name+"_WITHOUT_PORT"] = addr(get, withoutPort)
	m[portName] = addr(get, justPort)
}

func addressOperators() map[string]spec {
	m := map[string]spec{}
	upstreamHost := func(i *streaminfo.Info) netip.AddrPort { return i.UpstreamHost }
	m["UPSTREAM_HOST"] = addr(upstreamHost, withPort)
	addrFamily(m, "UPSTREAM_REMOTE_ADDRESS", "UPSTREAM_REMOTE_PORT", upstreamHost)
	addrFamily(m, "UPSTREAM_LOCAL_ADDRESS", "UPSTREAM_LOCAL_PORT",
		func(i *streaminfo.Info) netip.AddrPort { return i.UpstreamLocal })
	addrFamily(m, "DOWNSTREAM_REMOTE_ADDRESS", "DOWNSTREAM_REMOTE_PORT",
		func(i *streaminfo.Info) netip.AddrPort { return i.Downstream.RemoteAddress })
	addrFamily(m, "DOWNSTREAM_DIRECT_REMOTE_ADDRESS", "DOWNSTREAM_DIRECT_REMOTE_PORT",
		func(i *streaminfo.Info) netip.AddrPort { return i.Downstream.DirectRemoteAddress })
	addrFamily(m, "DOWNSTREAM_LOCAL_ADDRESS", "DOWNSTREAM_LOCAL_PORT",
		func(i *streaminfo.Info) netip.AddrPort { return i.Downstream.LocalAddress })
	return m
}

// constantOp prints a value fixed when the format is parsed.
func constantOp(s string, present bool) *operator {
	return &operator{text: func(dst []byte, _ *streaminfo.Info) ([]byte, bool) {
		if !present {
			return dst, false
		}
		return append(dst, s...), true
	}}
}

// hostnameOp prints the system hostname, read once when the format is parsed.
func hostnameOp(string) (*operator, error) {
	h, err := os.Hostname()
	return constantOp(h, err == nil && h != ""), nil
}

// environmentOp prints an environment variable read when the format is parsed; an
// unset variable prints the string "-", as in Envoy.
func environmentOp(name string) (*operator, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		v = "-"
	}
	return constantOp(v, true), nil
}
