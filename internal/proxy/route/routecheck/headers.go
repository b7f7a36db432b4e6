package routecheck

import (
	"encoding/json"
	"fmt"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// checkHeaders checks header matchers, then the deprecated exact header fields, against
// the finalized request or response headers; side is "request" or "response".
func checkHeaders(h *header.Map, matchers []json.RawMessage, fields []HeaderValue, side string, res *Result) error {
	for i, raw := range matchers {
		pb := &routev3.HeaderMatcher{}
		if err := protojson.Unmarshal(raw, pb); err != nil {
			return fmt.Errorf("%s_header_matches[%d]: %w", side, i, err)
		}
		m, err := route.NewHeaderMatcher(pb)
		if err != nil {
			return fmt.Errorf("%s_header_matches[%d]: %w", side, i, err)
		}
		if !m.Matches(h) {
			res.Failures = append(res.Failures, matchFailure(h, pb.GetName(), m, side+"_header_matches"))
		}
	}
	for _, f := range fields {
		compare(h.Get(strings.ToLower(f.Key)), f.Value, side+"_header_fields", res)
	}
	return nil
}

// matchFailure describes a failed header matcher as Envoy's tool does: presence as
// has(name), an exact string match with its expected value, anything else with the
// actual value only.
func matchFailure(h *header.Map, name string, m *route.HeaderMatcher, prefix string) string {
	test := prefix + "." + m.Test()
	if m.Kind() == route.HeaderPresent {
		return failure(has(name, !m.Invert()), has(name, m.Invert()), test, true)
	}
	actual := name + ": " + firstValue(h, name)
	if want, ok := m.ExactValue(); ok && strings.HasPrefix(m.Test(), "string_match.") {
		return failure(name+": "+want, actual, test, !m.Invert())
	}
	return "actual: [" + actual + "], test type: " + test
}

func has(name string, present bool) string {
	return fmt.Sprintf("has(%s):%t", name, present)
}
