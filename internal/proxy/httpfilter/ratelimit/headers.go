package ratelimit

import (
	"fmt"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/weftmesh/weft/internal/proxy/format"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// headerAdd is one compiled HeaderValueOption.
type headerAdd struct {
	name      string
	value     *format.Formatter
	action    corev3.HeaderValueOption_HeaderAppendAction
	keepEmpty bool
}

// compileHeaders compiles a list of HeaderValueOption. Errors start with the index.
func compileHeaders(opts []*corev3.HeaderValueOption) ([]headerAdd, error) {
	var out []headerAdd
	for i, o := range opts {
		a, err := compileHeader(o)
		if err != nil {
			return nil, fmt.Errorf("[%d].%w", i, err)
		}
		out = append(out, a)
	}
	return out, nil
}

func compileHeader(o *corev3.HeaderValueOption) (headerAdd, error) {
	name := strings.ToLower(o.GetHeader().GetKey())
	if name == "" || header.IsPseudo(name) || name == "host" {
		return headerAdd{}, fmt.Errorf("header.key: %q may not be modified", o.GetHeader().GetKey())
	}
	// Envoy formats header values with omit_empty_values: an absent value is "".
	f, err := format.ParseText(o.GetHeader().GetValue(), format.Options{OmitEmptyValues: true})
	if err != nil {
		return headerAdd{}, fmt.Errorf("header.value: %w", err)
	}
	a := headerAdd{name: name, value: f, action: o.GetAppendAction(), keepEmpty: o.GetKeepEmptyValue()}
	if ap := o.GetAppend(); ap != nil {
		if a.action != corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD {
			return headerAdd{}, fmt.Errorf("append: append and append_action are mutually exclusive")
		}
		if !ap.GetValue() {
			a.action = corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD
		}
	}
	return a, nil
}

// applyHeaders adds the headers to h, their values formatted against info.
func applyHeaders(adds []headerAdd, h *header.Map, info *streaminfo.Info) {
	for i := range adds {
		a := &adds[i]
		v, static := a.value.Static()
		if !static {
			v = a.value.Format(info)
		}
		if v == "" && !a.keepEmpty {
			continue
		}
		switch a.action {
		case corev3.HeaderValueOption_ADD_IF_ABSENT:
			if !h.Has(a.name) {
				h.Add(a.name, v)
			}
		case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
			h.Set(a.name, v)
		case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
			if h.Has(a.name) {
				h.Set(a.name, v)
			}
		default:
			h.Add(a.name, v)
		}
	}
}

// setHeader sets name to the decimal n.
func setHeader(h *header.Map, name string, n uint64) { h.Set(name, itoa(n)) }

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
