package routecheck

import (
	"crypto/rand"
	"fmt"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"

	"github.com/weftmesh/weft/internal/proxy/route"
)

// routeCoverage records which fields of one route entry a passing check touched.
type routeCoverage struct {
	answers                                            bool
	cluster, vcluster, vhost, pathRewrite, hostRewrite bool
	redirectPath, redirectCode                         bool
}

// score is the fraction of the entry's fields that were checked: cluster, virtual
// cluster, virtual host, path and host rewrite for a forwarding route, redirect path
// and code for a redirect or direct response.
func (rc *routeCoverage) score() float64 {
	if rc.answers {
		return fraction(rc.redirectPath, rc.redirectCode)
	}
	return fraction(rc.cluster, rc.vcluster, rc.vhost, rc.pathRewrite, rc.hostRewrite)
}

func fraction(fields ...bool) float64 {
	n := 0
	for _, f := range fields {
		if f {
			n++
		}
	}
	return float64(n) / float64(len(fields))
}

// coverage tracks the route entries that tests covered. As in Envoy's tool, each
// cluster of a weighted route is a route of its own, and the redirect that require_tls
// produces counts as one more entry once covered.
type coverage struct {
	config  *routev3.RouteConfiguration
	total   int
	entries map[*route.Entry]*routeCoverage
	order   []*route.Entry
	names   [][]string // tool route names, "<name>-<uuid>", by virtual host and route
}

func newCoverage(rc *routev3.RouteConfiguration) *coverage {
	c := &coverage{config: rc, entries: map[*route.Entry]*routeCoverage{}}
	for _, vh := range rc.GetVirtualHosts() {
		var names []string
		for _, r := range vh.GetRoutes() {
			if wc := r.GetRoute().GetWeightedClusters(); wc != nil {
				c.total += len(wc.GetClusters())
			} else {
				c.total++
			}
			names = append(names, r.GetName()+"-"+uuid())
		}
		c.names = append(c.names, names)
	}
	return c
}

// entry returns the coverage record of e, creating it.
func (c *coverage) entry(e *route.Entry) *routeCoverage {
	if rc, ok := c.entries[e]; ok {
		return rc
	}
	rc := &routeCoverage{answers: e.Action() != route.ActionCluster}
	c.entries[e] = rc
	c.order = append(c.order, e)
	return rc
}

// percent returns the coverage: covered entries over routes, or with comprehensive the
// sum of the entries' scores over routes.
func (c *coverage) percent(comprehensive bool) float64 {
	if c.total == 0 {
		return 0
	}
	if !comprehensive {
		return 100 * float64(len(c.entries)) / float64(c.total)
	}
	var sum float64
	for _, e := range c.order {
		sum += c.entries[e].score()
	}
	return 100 * sum / float64(c.total)
}

// missing returns the lines Envoy's tool prints for routes no check covered: with
// byName "Missing test for host: H, route name: N", else with the route's match in
// protobuf text format.
func (c *coverage) missing(byName bool) []string {
	covered := map[[2]int]bool{}
	for _, e := range c.order {
		vh, r, _ := e.Position()
		covered[[2]int{vh, r}] = true
	}
	var out []string
	for i, vh := range c.config.GetVirtualHosts() {
		for j, r := range vh.GetRoutes() {
			if covered[[2]int{i, j}] {
				continue
			}
			if byName {
				out = append(out, fmt.Sprintf("Missing test for host: %s, route name: %s", vh.GetName(), c.names[i][j]))
			} else {
				out = append(out, fmt.Sprintf("Missing test for host: %s, route: %s", vh.GetName(), textFormat(r.GetMatch())))
			}
		}
	}
	return out
}

// uuid returns a random version 4 UUID, like the names Envoy's tool gives routes.
func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
