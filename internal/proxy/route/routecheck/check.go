package routecheck

import (
	"fmt"
	"os"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// Result is the outcome of one test: it passed when Failures is empty. Each failure
// reads as Envoy's tool prints it ("expected: [x], actual: [y], test type: cluster_name").
type Result struct {
	Name     string
	Failures []string
}

// Passed reports whether every checked field matched.
func (r *Result) Passed() bool { return len(r.Failures) == 0 }

// Checker runs tests against one route configuration and records coverage. It is not
// safe for concurrent use.
type Checker struct {
	config        *routev3.RouteConfiguration
	table         *route.Table
	activeRuntime string
	cov           *coverage
}

// LoadRouteConfig reads a RouteConfiguration from a YAML or JSON file. Durations may be
// written as objects ({seconds: 30}), as Envoy's loader accepts.
func LoadRouteConfig(path string) (*routev3.RouteConfiguration, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	rc := &routev3.RouteConfiguration{}
	if err := config.Unmarshal(data, rc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return rc, nil
}

// NewChecker compiles rc for checking. Like Envoy's tool, it turns a runtime_fraction
// whose default numerator is 0 into 1, so that runtime-gated routes can be tested, and
// enables a runtime-gated route only when the test's input.runtime names its key.
func NewChecker(rc *routev3.RouteConfiguration) (*Checker, error) {
	rc = proto.Clone(rc).(*routev3.RouteConfiguration)
	for _, vh := range rc.GetVirtualHosts() {
		for _, r := range vh.GetRoutes() {
			if def := r.GetMatch().GetRuntimeFraction().GetDefaultValue(); def != nil && def.GetNumerator() == 0 {
				def.Numerator = 1
			}
		}
	}
	c := &Checker{config: rc}
	t, err := route.New(rc, route.Options{RuntimeFeature: c.runtimeFeature})
	if err != nil {
		return nil, err
	}
	c.table = t
	c.cov = newCoverage(rc)
	return c, nil
}

func (c *Checker) runtimeFeature(key string, def route.Fraction, random uint64) bool {
	return c.activeRuntime != "" && key == c.activeRuntime && def.Enabled(random)
}

// Run runs every test in order and returns one result per test.
func (c *Checker) Run(v *Validation) ([]Result, error) {
	results := make([]Result, 0, len(v.Tests))
	for i := range v.Tests {
		r, err := c.runOne(&v.Tests[i])
		if err != nil {
			return nil, fmt.Errorf("test %q: %w", v.Tests[i].TestName, err)
		}
		results = append(results, r)
	}
	return results, nil
}

// outcome is what routing one test request produced.
type outcome struct {
	x       *exchange
	entry   *route.Entry
	cluster string
}

// forwards reports whether the request got a route that forwards to a cluster.
func (o *outcome) forwards() bool {
	return o.entry != nil && o.entry.Action() == route.ActionCluster
}

// answers reports whether the request got a redirect or direct response.
func (o *outcome) answers() bool {
	return o.entry != nil && o.entry.Action() != route.ActionCluster
}

// runOne routes one test request, finalizes the headers and compares every field the
// test asks about, recording coverage for the checks that pass.
func (c *Checker) runOne(it *Item) (Result, error) {
	res := Result{Name: it.TestName}
	x, err := newExchange(it.Input)
	if err != nil {
		return res, err
	}
	c.activeRuntime = it.Input.Runtime
	o := &outcome{x: x, entry: c.table.Match(&x.req, &x.info, uint64(it.Input.RandomValue))}
	if o.forwards() {
		o.cluster = o.entry.ClusterName(&x.req)
	}
	finalize(o)
	a := it.Validate
	c.checkRoute(o, a, &res)
	c.checkRedirect(o, a, &res)
	if err := checkHeaders(&x.req, a.RequestHeaderMatches, a.RequestHeaderFields, "request", &res); err != nil {
		return res, err
	}
	if err := checkHeaders(&x.resp, a.ResponseHeaderMatches, a.ResponseHeaderFields, "response", &res); err != nil {
		return res, err
	}
	return res, nil
}

// finalize applies the route to the headers as Envoy's tool does. A redirect or direct
// response rewrites the path, copies the local reply's headers (:status, and for a
// non-empty body content-length and content-type text/plain) into the response, then
// adds the route's response headers; a forwarding route finalizes both directions.
func finalize(o *outcome) {
	x := o.x
	switch {
	case o.answers():
		o.entry.RewriteRedirectPath(&x.req)
		x.resp.Add(header.Status, itoa(uint64(o.entry.ResponseCode())))
		if body := o.entry.ResponseBody(); body != "" {
			x.resp.Add("content-length", itoa(uint64(len(body))))
			x.resp.Add("content-type", "text/plain")
		}
		o.entry.FinalizeResponse(&x.resp, &x.info)
	case o.forwards():
		o.entry.FinalizeRequest(&x.req, &x.info)
		o.entry.FinalizeResponse(&x.resp, &x.info)
	}
}

// checkRoute compares the fields of a forwarding route, in the tool's order.
func (c *Checker) checkRoute(o *outcome, a *Assert, res *Result) {
	var vcluster, vhost, path, host string
	if o.forwards() {
		vcluster = o.entry.VirtualClusterName(&o.x.req)
		vhost = o.entry.VirtualHost().Name()
		path = o.x.req.Get(header.Path)
		host = o.x.req.Get(header.Authority)
	}
	fields := []struct {
		want *string
		got  string
		test string
		mark func(*routeCoverage)
	}{
		{a.ClusterName, o.cluster, "cluster_name", func(rc *routeCoverage) { rc.cluster = true }},
		{a.VirtualClusterName, vcluster, "virtual_cluster_name", func(rc *routeCoverage) { rc.vcluster = true }},
		{a.VirtualHostName, vhost, "virtual_host_name", func(rc *routeCoverage) { rc.vhost = true }},
		{a.PathRewrite, path, "path_rewrite", func(rc *routeCoverage) { rc.pathRewrite = true }},
		{a.HostRewrite, host, "host_rewrite", func(rc *routeCoverage) { rc.hostRewrite = true }},
	}
	for _, f := range fields {
		if f.want == nil {
			continue
		}
		if compare(f.got, *f.want, f.test, res) && o.forwards() {
			f.mark(c.cov.entry(o.entry))
		}
	}
}

// checkRedirect compares the redirect URI and status code.
func (c *Checker) checkRedirect(o *outcome, a *Assert, res *Result) {
	if a.PathRedirect != nil {
		got := ""
		if o.answers() {
			got = o.entry.NewURI(&o.x.req)
		}
		if compare(got, *a.PathRedirect, "path_redirect", res) && o.answers() {
			c.cov.entry(o.entry).redirectPath = true
		}
	}
	if a.CodeRedirect != nil {
		var got uint64
		if o.answers() {
			got = uint64(o.entry.ResponseCode())
		}
		if compare(itoa(got), itoa(uint64(*a.CodeRedirect)), "code_redirect", res) && o.answers() {
			c.cov.entry(o.entry).redirectCode = true
		}
	}
}

// compare records a failure when got differs from want.
func compare(got, want, test string, res *Result) bool {
	if got == want {
		return true
	}
	res.Failures = append(res.Failures, failure(want, got, test, true))
	return false
}

func failure(want, got, test string, expectMatch bool) string {
	not := ""
	if !expectMatch {
		not = "NOT "
	}
	return "expected: [" + want + "], actual: " + not + "[" + got + "], test type: " + test
}
