package route

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"

	"github.com/weftmesh/weft/internal/proxy/format"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// appendAction is HeaderValueOption.append_action.
type appendAction uint8

const (
	appendIfExistsOrAdd appendAction = iota
	addIfAbsent
	overwriteIfExistsOrAdd
	overwriteIfExists
)

// headerAdd is one compiled HeaderValueOption.
type headerAdd struct {
	name      string
	value     *format.Formatter
	static    string
	isStatic  bool
	action    appendAction
	keepEmpty bool
}

// headerOps is one level's headers_to_add and headers_to_remove.
type headerOps struct {
	add    []headerAdd
	remove []string
}

func (o *headerOps) empty() bool { return len(o.add) == 0 && len(o.remove) == 0 }

// compileHeaderOps compiles a level's additions and removals; fields names the proto
// fields ("request_headers_to_add", "request_headers_to_remove") for errors.
func compileHeaderOps(adds []*corev3.HeaderValueOption, removes []string, addField, removeField string) (headerOps, error) {
	var ops headerOps
	for i, hv := range adds {
		a, err := compileHeaderAdd(hv)
		if err != nil {
			return ops, at(addField+"["+strconv.Itoa(i)+"]", err)
		}
		ops.add = append(ops.add, a)
	}
	for i, name := range removes {
		name = strings.ToLower(name)
		if !modifiable(name) {
			return ops, at(removeField+"["+strconv.Itoa(i)+"]", fmt.Errorf("header %q may not be removed: pseudo-headers and host are not removable", name))
		}
		ops.remove = append(ops.remove, name)
	}
	return ops, nil
}

func compileHeaderAdd(hv *corev3.HeaderValueOption) (headerAdd, error) {
	h := hv.GetHeader()
	if h == nil {
		return headerAdd{}, at("header", errors.New("header is required"))
	}
	a := headerAdd{name: strings.ToLower(h.GetKey()), keepEmpty: hv.GetKeepEmptyValue()}
	if a.name == "" || !modifiable(a.name) {
		return a, at("header.key", fmt.Errorf("header %q may not be modified: pseudo-headers and host are not modifiable", h.GetKey()))
	}
	// Envoy formats header values with omit_empty_values: an absent value is "", not "-".
	f, err := format.ParseText(h.GetValue(), format.Options{OmitEmptyValues: true})
	if err != nil {
		return a, at("header.value", err)
	}
	a.value = f
	a.static, a.isStatic = f.Static()
	if hv.GetAppend() != nil {
		if hv.GetAppendAction() != corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD {
			return a, at("append", errors.New("append and append_action are mutually exclusive"))
		}
		if !hv.GetAppend().GetValue() {
			a.action = overwriteIfExistsOrAdd
		}
		return a, nil
	}
	switch hv.GetAppendAction() {
	case corev3.HeaderValueOption_APPEND_IF_EXISTS_OR_ADD:
		a.action = appendIfExistsOrAdd
	case corev3.HeaderValueOption_ADD_IF_ABSENT:
		a.action = addIfAbsent
	case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD:
		a.action = overwriteIfExistsOrAdd
	case corev3.HeaderValueOption_OVERWRITE_IF_EXISTS:
		a.action = overwriteIfExists
	default:
		return a, at("append_action", fmt.Errorf("unknown append action %v", hv.GetAppendAction()))
	}
	return a, nil
}

// modifiable reports whether route config may add or remove the header: Envoy protects
// pseudo-headers and host.
func modifiable(name string) bool {
	return name != "" && !header.IsPseudo(name) && name != "host"
}

// pendingHeader is a header value computed before any of a level's changes apply.
type pendingHeader struct {
	name, value string
	overwrite   bool
}

// apply removes, then adds, the level's headers, as Envoy's HeaderParser does: every
// value is formatted against the headers as they were before this level, overwrites
// are applied before appends.
func (o *headerOps) apply(h *header.Map, info *streaminfo.Info) {
	for _, name := range o.remove {
		h.Del(name)
	}
	if len(o.add) == 0 {
		return
	}
	var buf [8]pendingHeader
	pending := o.evaluate(h, info, buf[:0])
	for _, p := range pending {
		if p.overwrite {
			h.Set(p.name, p.value)
		}
	}
	for _, p := range pending {
		if !p.overwrite {
			h.Add(p.name, p.value)
		}
	}
}

// evaluate formats the additions and decides, from the headers as they are, which of
// them apply and how.
func (o *headerOps) evaluate(h *header.Map, info *streaminfo.Info, pending []pendingHeader) []pendingHeader {
	for i := range o.add {
		a := &o.add[i]
		v := a.static
		if !a.isStatic {
			v = a.value.Format(info)
		}
		if v == "" && !a.keepEmpty {
			continue
		}
		switch a.action {
		case appendIfExistsOrAdd:
			pending = append(pending, pendingHeader{name: a.name, value: v})
		case addIfAbsent:
			if !h.Has(a.name) {
				pending = append(pending, pendingHeader{name: a.name, value: v})
			}
		case overwriteIfExists:
			if h.Has(a.name) {
				pending = append(pending, pendingHeader{name: a.name, value: v, overwrite: true})
			}
		case overwriteIfExistsOrAdd:
			pending = append(pending, pendingHeader{name: a.name, value: v, overwrite: true})
		}
	}
	return pending
}
