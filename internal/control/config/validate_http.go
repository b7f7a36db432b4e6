package config

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	networking "istio.io/api/networking/v1alpha3"
)

// validateHTTPRoute checks one http route of a VirtualService.
func validateHTTPRoute(fe *fieldErrors, p string, r *networking.HTTPRoute) {
	if r == nil {
		fe.add(p, "must not be null")
		return
	}
	validateHTTPAction(fe, p, r)
	for i, m := range r.Match {
		validateHTTPMatch(fe, index(field(p, "match"), i), m)
	}
	validateHTTPRouteDestinations(fe, field(p, "route"), r.Route)
	validateHeaderOps(fe, field(p, "headers"), r.Headers)
	if r.Timeout != nil {
		fe.check(field(p, "timeout"), checkDuration(r.Timeout))
	}
	validateRetries(fe, field(p, "retries"), r.Retries)
	validateFault(fe, field(p, "fault"), r.Fault)
	validateMirrors(fe, p, r)
	validateRedirect(fe, field(p, "redirect"), r.Redirect)
	validateRewrite(fe, field(p, "rewrite"), r.Rewrite)
	validateDirectResponse(fe, field(p, "directResponse"), r.DirectResponse)
	validateCORS(fe, field(p, "corsPolicy"), r.CorsPolicy)
}

// validateHTTPAction checks that a route does one thing: route, redirect or respond.
func validateHTTPAction(fe *fieldErrors, p string, r *networking.HTTPRoute) {
	if r.Delegate != nil {
		fe.add(field(p, "delegate"), "delegation to other virtual services is not supported")
		return
	}
	route, redirect, direct := len(r.Route) > 0, r.Redirect != nil, r.DirectResponse != nil
	switch {
	case !route && !redirect && !direct:
		fe.add(p, "one of route, redirect or directResponse is required")
	case redirect && route:
		fe.add(field(p, "redirect"), "cannot be combined with route")
	case direct && route:
		fe.add(field(p, "directResponse"), "cannot be combined with route")
	case direct && redirect:
		fe.add(field(p, "directResponse"), "cannot be combined with redirect")
	}
	if redirect && r.Fault != nil {
		fe.add(field(p, "fault"), "cannot be combined with redirect")
	}
	if redirect && r.Rewrite != nil {
		fe.add(field(p, "rewrite"), "cannot be combined with redirect")
	}
}

// validateHTTPMatch checks one match of an http route.
func validateHTTPMatch(fe *fieldErrors, p string, m *networking.HTTPMatchRequest) {
	if m == nil {
		fe.add(p, "must not be null")
		return
	}
	for _, f := range []struct {
		name string
		sm   *networking.StringMatch
	}{{"uri", m.Uri}, {"scheme", m.Scheme}, {"method", m.Method}, {"authority", m.Authority}} {
		if f.sm != nil {
			validateStringMatch(fe, field(p, f.name), f.sm)
		}
	}
	validateMatchMap(fe, field(p, "headers"), m.Headers, true)
	validateMatchMap(fe, field(p, "withoutHeaders"), m.WithoutHeaders, true)
	validateMatchMap(fe, field(p, "queryParams"), m.QueryParams, false)
	validateL4Match(fe, p, m.Port, nil, m.SourceLabels, m.Gateways, m.SourceNamespace)
}

// validateMatchMap checks header or query parameter matches. An empty match ({}) is
// allowed there: it matches the presence of the header or parameter.
func validateMatchMap(fe *fieldErrors, p string, ms map[string]*networking.StringMatch, headers bool) {
	for _, name := range sortedKeys(ms) {
		np := key(p, name)
		if headers {
			fe.check(np, checkHeaderMatchName(name))
		}
		sm := ms[name]
		if sm == nil || sm.GetMatchType() == nil {
			continue
		}
		validateStringMatch(fe, np, sm)
	}
}

var (
	headerNameRE       = regexp.MustCompile(`^[-_A-Za-z0-9]+$`)
	errEmptyHeaderName = errors.New("header name must not be empty")
)

// checkHeaderMatchName checks a header name in a match; JWT claims
// ("@request.auth.claims.group") are allowed as in Istio's gateways.
func checkHeaderMatchName(name string) error {
	if strings.HasPrefix(name, "@request.auth.claims.") || headerNameRE.MatchString(name) {
		return nil
	}
	return fmt.Errorf("invalid header name %q", name)
}

// validateHTTPRouteDestinations checks the weighted destinations of an http route.
func validateHTTPRouteDestinations(fe *fieldErrors, p string, ds []*networking.HTTPRouteDestination) {
	weights := make([]int32, len(ds))
	for i, d := range ds {
		if d == nil {
			fe.add(index(p, i), "must not be null")
			continue
		}
		validateDestination(fe, field(index(p, i), "destination"), d.Destination)
		validateHeaderOps(fe, field(index(p, i), "headers"), d.Headers)
		weights[i] = d.Weight
	}
	checkWeights(fe, p, weights)
}

// validateHeaderOps checks header manipulations: no pseudo-headers, and Host only
// through the request's set or add.
func validateHeaderOps(fe *fieldErrors, p string, h *networking.Headers) {
	if h == nil {
		return
	}
	validateHeaderOp(fe, field(p, "request"), h.Request, true)
	validateHeaderOp(fe, field(p, "response"), h.Response, false)
}

func validateHeaderOp(fe *fieldErrors, p string, op *networking.Headers_HeaderOperations, request bool) {
	if op == nil {
		return
	}
	for _, m := range []struct {
		name   string
		values map[string]string
	}{{"set", op.Set}, {"add", op.Add}} {
		for _, name := range sortedKeys(m.values) {
			fe.check(key(field(p, m.name), name), checkHeaderOpName(name, request))
			if strings.ContainsAny(m.values[name], "\x00\r\n") {
				fe.add(key(field(p, m.name), name), "header value must not contain NUL, CR or LF")
			}
		}
	}
	for i, name := range op.Remove {
		fe.check(index(field(p, "remove"), i), checkHeaderOpName(name, false))
	}
}

// checkHeaderOpName checks the name of a header to set, add or remove. Requests may set
// the authority (":authority" or "Host"); nothing else may touch pseudo-headers or Host.
func checkHeaderOpName(name string, setRequest bool) error {
	lower := strings.ToLower(name)
	switch {
	case name == "":
		return errEmptyHeaderName
	case setRequest && (lower == ":authority" || lower == "host"):
		return nil
	case strings.HasPrefix(name, ":") || lower == "host":
		return fmt.Errorf("header %q cannot be changed", name)
	}
	return nil
}

// validateRetries checks a retry policy.
func validateRetries(fe *fieldErrors, p string, r *networking.HTTPRetry) {
	if r == nil {
		return
	}
	if r.Attempts < 0 {
		fe.add(field(p, "attempts"), "attempts %d must not be negative", r.Attempts)
	}
	if r.Attempts == 0 && (r.PerTryTimeout != nil || r.RetryOn != "" || r.RetryRemoteLocalities != nil) {
		fe.add(field(p, "attempts"), "is 0 (retries disabled) but perTryTimeout, retryOn or retryRemoteLocalities is set")
	}
	if r.PerTryTimeout != nil {
		fe.check(field(p, "perTryTimeout"), checkDuration(r.PerTryTimeout))
	}
	if r.Backoff != nil {
		fe.check(field(p, "backoff"), checkDuration(r.Backoff))
	}
	if r.RetryOn == "" {
		return
	}
	for _, cond := range strings.Split(r.RetryOn, ",") {
		cond = strings.TrimSpace(cond)
		if code, err := strconv.Atoi(cond); err == nil && http.StatusText(code) != "" {
			continue
		}
		if !retryOnConditions[cond] {
			fe.add(field(p, "retryOn"), "%q is not a retry condition Envoy knows", cond)
		}
	}
}

// retryOnConditions are Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on conditions.
var retryOnConditions = map[string]bool{
	"5xx": true, "gateway-error": true, "reset": true, "reset-before-request": true, "connect-failure": true,
	"retriable-4xx": true, "refused-stream": true, "retriable-status-codes": true, "retriable-headers": true,
	"envoy-ratelimited": true, "http3-post-connect-failure": true,
	"cancelled": true, "deadline-exceeded": true, "internal": true, "resource-exhausted": true, "unavailable": true,
}
