package routecheck

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	setmetadatav3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/set_metadata/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// loopback is where the tool's simulated request comes from.
var loopback = netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 0)

// exchange is one simulated request and its response headers.
type exchange struct {
	req  header.Map
	resp header.Map
	info streaminfo.Info
}

// newExchange builds the request as Envoy's tool does: :authority, :path, :method,
// x-forwarded-proto and :scheme from ssl, x-envoy-internal from internal, then the
// additional headers, over HTTP/1.1 from 127.0.0.1, with the test's dynamic metadata.
func newExchange(in *Input) (*exchange, error) {
	x := &exchange{}
	scheme := "http"
	if in.SSL {
		scheme = "https"
	}
	x.req.Add(header.Authority, in.Authority)
	x.req.Add(header.Path, in.Path)
	x.req.Add(header.Method, in.Method)
	x.req.Add("x-forwarded-proto", scheme)
	x.req.Add(header.Scheme, scheme)
	if in.Internal {
		x.req.Add("x-envoy-internal", "true")
	}
	for _, h := range in.AdditionalRequestHeaders {
		x.req.Add(strings.ToLower(h.Key), h.Value)
	}
	for _, h := range in.AdditionalResponseHeaders {
		x.resp.Add(strings.ToLower(h.Key), h.Value)
	}
	x.info = streaminfo.Info{
		Protocol:        "HTTP/1.1",
		Downstream:      streaminfo.Downstream{RemoteAddress: loopback, DirectRemoteAddress: loopback},
		RequestHeaders:  &x.req,
		ResponseHeaders: &x.resp,
	}
	md, err := dynamicMetadata(in.DynamicMetadata)
	if err != nil {
		return nil, err
	}
	x.info.Metadata = md
	return x, nil
}

// dynamicMetadata applies set_metadata entries in order. A namespace that does not
// exist yet takes the entry's value; an existing one changes only when the entry has
// allow_overwrite, and then the value is merged in. typed_value goes to typed metadata,
// which route matching does not read, so it is checked but has no effect here.
func dynamicMetadata(entries []json.RawMessage) (map[string]map[string]any, error) {
	if len(entries) == 0 {
		return nil, nil
	}
	md := map[string]map[string]any{}
	for i, raw := range entries {
		m := &setmetadatav3.Metadata{}
		if err := protojson.Unmarshal(raw, m); err != nil {
			return nil, fmt.Errorf("dynamic_metadata[%d]: %w", i, err)
		}
		if m.GetMetadataNamespace() == "" {
			return nil, fmt.Errorf("dynamic_metadata[%d].metadata_namespace: must not be empty", i)
		}
		if m.GetValue() == nil {
			continue
		}
		ns := m.GetMetadataNamespace()
		cur, ok := md[ns]
		switch {
		case !ok:
			md[ns] = m.GetValue().AsMap()
		case m.GetAllowOverwrite():
			mergeStruct(cur, m.GetValue().AsMap())
		}
	}
	return md, nil
}

// mergeStruct merges src into dst as set_metadata does: new keys are added, values of
// another type replace, lists are appended to, structs are merged recursively and
// other scalars are replaced.
func mergeStruct(dst, src map[string]any) {
	for k, v := range src {
		old, ok := dst[k]
		if !ok {
			dst[k] = v
			continue
		}
		switch nv := v.(type) {
		case map[string]any:
			if om, ok := old.(map[string]any); ok {
				mergeStruct(om, nv)
				continue
			}
		case []any:
			if ol, ok := old.([]any); ok {
				dst[k] = append(ol, nv...)
				continue
			}
		}
		dst[k] = v
	}
}

// firstValue returns the first value of name as the tool prints it: "NULL" when absent.
func firstValue(h *header.Map, name string) string {
	v, ok := h.Lookup(strings.ToLower(name))
	if !ok {
		return "NULL"
	}
	return v
}

func itoa(n uint64) string { return strconv.FormatUint(n, 10) }
