package config

import (
	"net/http"

	networking "istio.io/api/networking/v1alpha3"
)

// validatePercent checks a fractional percentage: 0, or 0.0001 to 100.
func validatePercent(fe *fieldErrors, p string, pc *networking.Percent) {
	if pc == nil {
		return
	}
	if v := pc.Value; v < 0 || v > 100 || (v > 0 && v < 0.0001) {
		fe.add(field(p, "value"), "percentage %v must be 0 or in 0.0001..100", v)
	}
}

// validateFault checks fault injection: an abort with a status, and/or a fixed delay.
func validateFault(fe *fieldErrors, p string, f *networking.HTTPFaultInjection) {
	if f == nil {
		return
	}
	if f.Abort == nil && f.Delay == nil {
		fe.add(p, "at least one of abort or delay is required")
	}
	if a := f.Abort; a != nil {
		ap := field(p, "abort")
		validatePercent(fe, field(ap, "percentage"), a.Percentage)
		switch t := a.ErrorType.(type) {
		case *networking.HTTPFaultInjection_Abort_HttpStatus:
			if t.HttpStatus < 200 || t.HttpStatus > 599 {
				fe.add(field(ap, "httpStatus"), "HTTP status %d must be in 200..599", t.HttpStatus)
			}
		case *networking.HTTPFaultInjection_Abort_GrpcStatus:
			if !grpcStatuses[t.GrpcStatus] {
				fe.add(field(ap, "grpcStatus"), "%q is not a gRPC status name such as UNAVAILABLE", t.GrpcStatus)
			}
		case *networking.HTTPFaultInjection_Abort_Http2Error:
			fe.add(field(ap, "http2Error"), "HTTP/2 error aborts are not supported")
		}
	}
	if d := f.Delay; d != nil {
		dp := field(p, "delay")
		validatePercent(fe, field(dp, "percentage"), d.Percentage)
		if d.Percent < 0 || d.Percent > 100 {
			fe.add(field(dp, "percent"), "percent %d must be in 0..100", d.Percent)
		}
		switch t := d.HttpDelayType.(type) {
		case *networking.HTTPFaultInjection_Delay_FixedDelay:
			fe.check(field(dp, "fixedDelay"), checkDuration(t.FixedDelay))
		case *networking.HTTPFaultInjection_Delay_ExponentialDelay:
			fe.add(field(dp, "exponentialDelay"), "exponential delays are not supported")
		}
	}
}

// grpcStatuses are the gRPC status code names.
var grpcStatuses = map[string]bool{
	"OK": true, "CANCELLED": true, "UNKNOWN": true, "INVALID_ARGUMENT": true, "DEADLINE_EXCEEDED": true,
	"NOT_FOUND": true, "ALREADY_EXISTS": true, "PERMISSION_DENIED": true, "RESOURCE_EXHAUSTED": true,
	"FAILED_PRECONDITION": true, "ABORTED": true, "OUT_OF_RANGE": true, "UNIMPLEMENTED": true,
	"INTERNAL": true, "UNAVAILABLE": true, "DATA_LOSS": true, "UNAUTHENTICATED": true,
}

// validateMirrors checks mirror, mirrorPercent, mirrorPercentage and mirrors.
func validateMirrors(fe *fieldErrors, p string, r *networking.HTTPRoute) {
	if r.Mirror != nil {
		validateDestination(fe, field(p, "mirror"), r.Mirror)
	}
	if v := r.MirrorPercent.GetValue(); v > 100 {
		fe.add(field(p, "mirrorPercent"), "percentage %d must be in 0..100", v)
	}
	if r.MirrorPercentage != nil {
		if v := r.MirrorPercentage.Value; v < 0 || v > 100 {
			fe.add(field(p, "mirrorPercentage.value"), "percentage %v must be in 0..100", v)
		}
	}
	for i, m := range r.Mirrors {
		mp := index(field(p, "mirrors"), i)
		if m == nil {
			fe.add(mp, "must not be null")
			continue
		}
		validateDestination(fe, field(mp, "destination"), m.Destination)
		if v := m.Percentage.GetValue(); v < 0 || v > 100 {
			fe.add(field(mp, "percentage.value"), "percentage %v must be in 0..100", v)
		}
	}
}

// validateRedirect checks a redirect: something to change, a 3xx code, http or https.
func validateRedirect(fe *fieldErrors, p string, r *networking.HTTPRedirect) {
	if r == nil {
		return
	}
	if r.Uri == "" && r.Authority == "" && r.RedirectPort == nil && r.Scheme == "" && r.PrefixRewrite == "" {
		fe.add(p, "at least one of uri, authority, scheme, port or derivePort is required")
	}
	if r.RedirectCode != 0 && (r.RedirectCode < 300 || r.RedirectCode > 399) {
		fe.add(field(p, "redirectCode"), "redirect code %d must be in 300..399", r.RedirectCode)
	}
	if r.Scheme != "" && r.Scheme != "http" && r.Scheme != "https" {
		fe.add(field(p, "scheme"), "scheme %q must be http or https", r.Scheme)
	}
	if port := r.GetPort(); port != 0 {
		fe.check(field(p, "port"), checkPort(port))
	}
}

// validateRewrite checks a rewrite: uri or uriRegexRewrite (not both), or authority.
func validateRewrite(fe *fieldErrors, p string, r *networking.HTTPRewrite) {
	if r == nil {
		return
	}
	switch {
	case r.Uri != "" && r.UriRegexRewrite != nil:
		fe.add(p, "only one of uri and uriRegexRewrite may be set")
	case r.Uri == "" && r.UriRegexRewrite == nil && r.Authority == "":
		fe.add(p, "at least one of uri, uriRegexRewrite or authority is required")
	}
	if rr := r.UriRegexRewrite; rr != nil {
		rp := field(p, "uriRegexRewrite")
		validateRegex(fe, field(rp, "match"), rr.Match)
		if rr.Rewrite == "" {
			fe.add(field(rp, "rewrite"), "must not be empty")
		}
	}
}

// validateDirectResponse checks a direct response: a status and a body under 1 MiB.
func validateDirectResponse(fe *fieldErrors, p string, d *networking.HTTPDirectResponse) {
	if d == nil {
		return
	}
	if d.Status < 200 || d.Status > 599 {
		fe.add(field(p, "status"), "HTTP status %d must be in 200..599", d.Status)
	}
	if size := len(d.Body.GetString_()) + len(d.Body.GetBytes()); size > 1<<20 {
		fe.add(field(p, "body"), "body of %d bytes is larger than 1 MiB", size)
	}
}

// validateCORS checks a CORS policy.
func validateCORS(fe *fieldErrors, p string, c *networking.CorsPolicy) {
	if c == nil {
		return
	}
	for i, o := range c.AllowOrigins {
		op := index(field(p, "allowOrigins"), i)
		validateStringMatch(fe, op, o)
		if o != nil && o.GetExact() == "" && o.GetPrefix() == "" && o.GetRegex() == "" && o.GetMatchType() != nil {
			fe.add(op, "must not be empty")
		}
	}
	for i, m := range c.AllowMethods {
		if !httpMethods[m] {
			fe.add(index(field(p, "allowMethods"), i), "%q is not an HTTP method", m)
		}
	}
	for _, list := range []struct {
		name  string
		items []string
	}{{"allowHeaders", c.AllowHeaders}, {"exposeHeaders", c.ExposeHeaders}} {
		for i, h := range list.items {
			if h != "*" && !headerNameRE.MatchString(h) {
				fe.add(index(field(p, list.name), i), "invalid header name %q", h)
			}
		}
	}
	if c.MaxAge != nil {
		fe.check(field(p, "maxAge"), checkDuration(c.MaxAge))
		if c.MaxAge.Nanos != 0 {
			fe.add(field(p, "maxAge"), "must be a whole number of seconds")
		}
	}
}

var httpMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true, http.MethodPatch: true,
	http.MethodDelete: true, http.MethodConnect: true, http.MethodOptions: true, http.MethodTrace: true,
}
