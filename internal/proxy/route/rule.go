package route

import (
	"errors"
	"strconv"
	"strings"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftmesh/weft/internal/proxy/header"
)

// Action says what a route does with a request.
type Action uint8

// The route actions.
const (
	// ActionCluster forwards the request to a cluster.
	ActionCluster Action = iota
	// ActionRedirect answers with a redirect (redirect, or require_tls).
	ActionRedirect
	// ActionDirectResponse answers with a fixed status and body.
	ActionDirectResponse
)

// Decorator is a route's tracing decorator.
type Decorator struct {
	Operation string
	// Propagate is nil when unset (Envoy's default is to propagate).
	Propagate *bool
}

// rule is one compiled route: its match and everything its entries share.
type rule struct {
	name            string
	index           int
	vh              *VirtualHost
	match           routeMatch
	action          Action
	entries         []Entry // one, or one per weighted cluster
	weights         *weights
	act             *routeAction
	redirect        *redirect
	direct          *directResponse
	reqOps, respOps headerOps
	filters         map[string]any
	metadata        map[string]map[string]any
	decorator       *Decorator
}

func buildRule(vh *VirtualHost, index int, r *routev3.Route, opts Options) (*rule, error) {
	rl := &rule{name: r.GetName(), index: index, vh: vh}
	var err error
	if r.GetMatch() == nil {
		return nil, at("match", errors.New("match is required"))
	}
	if rl.match, err = compileRouteMatch(r.GetMatch()); err != nil {
		return nil, at("match", err)
	}
	if err := rl.buildCommon(r, opts); err != nil {
		return nil, err
	}
	switch a := r.GetAction().(type) {
	case *routev3.Route_Route:
		err = at("route", rl.buildRouteAction(a.Route, opts))
	case *routev3.Route_Redirect:
		rl.action = ActionRedirect
		rl.redirect, err = compileRedirect(a.Redirect)
		err = at("redirect", err)
	case *routev3.Route_DirectResponse:
		rl.action = ActionDirectResponse
		rl.direct, err = compileDirectResponse(a.DirectResponse, vh.table.maxBody)
		err = at("direct_response", err)
	default:
		err = errors.New("action is required (route, redirect or direct_response)")
	}
	if err != nil {
		return nil, err
	}
	if rl.entries == nil {
		rl.entries = []Entry{{rule: rl}}
	}
	return rl, nil
}

func (rl *rule) buildCommon(r *routev3.Route, opts Options) error {
	var err error
	if rl.reqOps, err = compileHeaderOps(r.GetRequestHeadersToAdd(), r.GetRequestHeadersToRemove(),
		"request_headers_to_add", "request_headers_to_remove"); err != nil {
		return err
	}
	if rl.respOps, err = compileHeaderOps(r.GetResponseHeadersToAdd(), r.GetResponseHeadersToRemove(),
		"response_headers_to_add", "response_headers_to_remove"); err != nil {
		return err
	}
	if rl.filters, err = parseFilterConfigs(r.GetTypedPerFilterConfig(), opts); err != nil {
		return at("typed_per_filter_config", err)
	}
	if md := r.GetMetadata(); md != nil {
		rl.metadata = map[string]map[string]any{}
		for ns, s := range md.GetFilterMetadata() {
			rl.metadata[ns] = structMap(s)
		}
	}
	if d := r.GetDecorator(); d != nil {
		if d.GetOperation() == "" {
			return at("decorator.operation", errors.New("operation is required"))
		}
		rl.decorator = &Decorator{Operation: d.GetOperation()}
		if p := d.GetPropagate(); p != nil {
			v := p.GetValue()
			rl.decorator.Propagate = &v
		}
	}
	return nil
}

func structMap(s *structpb.Struct) map[string]any {
	if s == nil {
		return map[string]any{}
	}
	return s.AsMap()
}

// entry returns the entry for a matched request: the route's only entry, or the
// weighted cluster that random picks.
func (rl *rule) entry(req *header.Map, random uint64) *Entry {
	if rl.weights == nil {
		return &rl.entries[0]
	}
	return &rl.entries[rl.weights.pick(rl.vh.table, req, random)]
}

// weights is a compiled WeightedCluster.
type weights struct {
	clusters      []clusterWeight
	total         uint64 // sum of configured weights
	runtimePrefix string
	randomHeader  string
}

// clusterWeight is one compiled ClusterWeight.
type clusterWeight struct {
	name            string
	weight          uint64
	runtimeKey      string
	reqOps, respOps headerOps
	hostRewrite     string
	filters         map[string]any
}

func (rl *rule) buildWeighted(wc *routev3.WeightedCluster, opts Options) error {
	w := &weights{runtimePrefix: wc.GetRuntimeKeyPrefix(), randomHeader: strings.ToLower(wc.GetHeaderName())}
	if len(wc.GetClusters()) == 0 {
		return at("clusters", errors.New("at least one cluster is required"))
	}
	for i, c := range wc.GetClusters() {
		cw, err := compileClusterWeight(c, w.runtimePrefix, opts)
		if err != nil {
			return at("clusters["+strconv.Itoa(i)+"]", err)
		}
		w.total += cw.weight
		w.clusters = append(w.clusters, cw)
	}
	if w.total == 0 {
		return at("clusters", errors.New("the sum of the weights must be greater than zero"))
	}
	if tw := wc.GetTotalWeight(); tw != nil && uint64(tw.GetValue()) != w.total {
		return at("total_weight", errors.New("total_weight does not equal the sum of the cluster weights"))
	}
	rl.weights = w
	rl.entries = make([]Entry, len(w.clusters))
	for i := range w.clusters {
		rl.entries[i] = Entry{rule: rl, cluster: w.clusters[i].name, wc: &w.clusters[i], index: i}
	}
	return nil
}

func compileClusterWeight(c *routev3.WeightedCluster_ClusterWeight, prefix string, opts Options) (clusterWeight, error) {
	cw := clusterWeight{name: c.GetName(), hostRewrite: c.GetHostRewriteLiteral()}
	if cw.name == "" {
		return cw, at("name", errors.New("name is required"))
	}
	if c.GetWeight() != nil {
		cw.weight = uint64(c.GetWeight().GetValue())
	}
	if prefix != "" {
		cw.runtimeKey = prefix + "." + cw.name
	}
	var err error
	if cw.reqOps, err = compileHeaderOps(c.GetRequestHeadersToAdd(), c.GetRequestHeadersToRemove(),
		"request_headers_to_add", "request_headers_to_remove"); err != nil {
		return cw, err
	}
	if cw.respOps, err = compileHeaderOps(c.GetResponseHeadersToAdd(), c.GetResponseHeadersToRemove(),
		"response_headers_to_add", "response_headers_to_remove"); err != nil {
		return cw, err
	}
	cw.filters, err = parseFilterConfigs(c.GetTypedPerFilterConfig(), opts)
	return cw, at("typed_per_filter_config", err)
}

// pick returns the index of the cluster for random, as Envoy picks: random modulo the
// total weight, over the clusters' cumulative weights. A random value in header_name,
// when configured and valid, replaces random.
func (w *weights) pick(t *Table, req *header.Map, random uint64) int {
	if w.randomHeader != "" {
		if v, ok := req.Lookup(w.randomHeader); ok {
			if n, err := strconv.ParseUint(v, 10, 64); err == nil {
				random = n
			}
		}
	}
	total := w.total
	if w.runtimePrefix != "" {
		total = 0
		for i := range w.clusters {
			total += t.runtimeUint(w.clusters[i].runtimeKey, w.clusters[i].weight)
		}
		if total == 0 {
			return 0
		}
	}
	selected := random % total
	var end uint64
	for i := range w.clusters {
		weight := w.clusters[i].weight
		if w.runtimePrefix != "" {
			weight = t.runtimeUint(w.clusters[i].runtimeKey, weight)
		}
		end += weight
		if selected < end {
			return i
		}
	}
	return len(w.clusters) - 1
}
