package xdsgen

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/weftmesh/weft/internal/control/config"
)

// FieldError says which field of which Istio object weft cannot translate, and why.
type FieldError struct {
	Kind      config.Kind
	Namespace string
	Name      string
	// Path is the field, as users write it: "spec.http[0].corsPolicy".
	Path   string
	Reason string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("%s %s/%s: %s: %s", strings.ToLower(string(e.Kind)), e.Namespace, e.Name, e.Path, e.Reason)
}

// fieldErr builds a FieldError for c.
func fieldErr(c config.Config, path, format string, args ...any) *FieldError {
	return &FieldError{Kind: c.Kind, Namespace: c.Namespace, Name: c.Name, Path: path, Reason: fmt.Sprintf(format, args...)}
}

// translated lists, per Istio message, the fields (JSON names) weft translates; a
// message that is not listed is translated whole (durations, wrappers) when it is not
// an Istio type. Any other field that is set is a FieldError.
var translated = map[protoreflect.FullName][]string{
	"istio.networking.v1alpha3.VirtualService":           {"hosts", "gateways", "http", "tls", "tcp", "exportTo"},
	"istio.networking.v1alpha3.HTTPRoute":                {"name", "match", "route", "redirect", "directResponse", "rewrite", "timeout", "retries", "fault", "mirror", "mirrors", "mirrorPercent", "mirrorPercentage", "headers"},
	"istio.networking.v1alpha3.HTTPMatchRequest":         {"name", "uri", "scheme", "method", "authority", "headers", "port", "sourceLabels", "gateways", "queryParams", "ignoreUriCase", "withoutHeaders", "sourceNamespace"},
	"istio.networking.v1alpha3.StringMatch":              {"exact", "prefix", "regex"},
	"istio.networking.v1alpha3.HTTPRouteDestination":     {"destination", "weight", "headers"},
	"istio.networking.v1alpha3.RouteDestination":         {"destination", "weight"},
	"istio.networking.v1alpha3.Destination":              {"host", "subset", "port"},
	"istio.networking.v1alpha3.PortSelector":             {"number"},
	"istio.networking.v1alpha3.Headers":                  {"request", "response"},
	"istio.networking.v1alpha3.Headers.HeaderOperations": {"set", "add", "remove"},
	"istio.networking.v1alpha3.HTTPRedirect":             {"uri", "authority", "port", "scheme", "redirectCode", "prefixRewrite"},
	"istio.networking.v1alpha3.HTTPDirectResponse":       {"status", "body"},
	"istio.networking.v1alpha3.HTTPBody":                 {"string", "bytes"},
	"istio.networking.v1alpha3.HTTPRewrite":              {"uri", "authority", "uriRegexRewrite"},
	"istio.networking.v1alpha3.RegexRewrite":             {"match", "rewrite"},
	"istio.networking.v1alpha3.HTTPRetry":                {"attempts", "perTryTimeout", "retryOn", "retryIgnorePreviousHosts", "backoff"},
	"istio.networking.v1alpha3.HTTPFaultInjection":       {"delay", "abort"},
	"istio.networking.v1alpha3.HTTPFaultInjection.Delay": {"percent", "fixedDelay", "percentage"},
	"istio.networking.v1alpha3.HTTPFaultInjection.Abort": {"httpStatus", "grpcStatus", "percentage"},
	"istio.networking.v1alpha3.HTTPMirrorPolicy":         {"destination", "percentage"},
	"istio.networking.v1alpha3.Percent":                  {"value"},
	"istio.networking.v1alpha3.TCPRoute":                 {"match", "route"},
	"istio.networking.v1alpha3.TLSRoute":                 {"match", "route"},
	"istio.networking.v1alpha3.L4MatchAttributes":        {"port", "sourceLabels", "gateways", "sourceNamespace"},
	"istio.networking.v1alpha3.TLSMatchAttributes":       {"sniHosts", "port", "sourceLabels", "gateways", "sourceNamespace"},

	"istio.networking.v1alpha3.DestinationRule":                                  {"host", "trafficPolicy", "subsets", "exportTo", "workloadSelector"},
	"istio.type.v1beta1.WorkloadSelector":                                        {"matchLabels"},
	"istio.networking.v1alpha3.TrafficPolicy":                                    {"loadBalancer", "connectionPool", "outlierDetection", "tls", "portLevelSettings"},
	"istio.networking.v1alpha3.TrafficPolicy.PortTrafficPolicy":                  {"port", "loadBalancer", "connectionPool", "outlierDetection", "tls"},
	"istio.networking.v1alpha3.Subset":                                           {"name", "labels", "trafficPolicy"},
	"istio.networking.v1alpha3.LoadBalancerSettings":                             {"simple", "consistentHash", "warmupDurationSecs", "warmup"},
	"istio.networking.v1alpha3.WarmupConfiguration":                              {"duration", "minimumPercent", "aggression"},
	"istio.networking.v1alpha3.LoadBalancerSettings.ConsistentHashLB":            {"httpHeaderName", "httpCookie", "useSourceIp", "httpQueryParameterName", "ringHash", "maglev", "minimumRingSize"},
	"istio.networking.v1alpha3.LoadBalancerSettings.ConsistentHashLB.RingHash":   {"minimumRingSize"},
	"istio.networking.v1alpha3.LoadBalancerSettings.ConsistentHashLB.MagLev":     {"tableSize"},
	"istio.networking.v1alpha3.LoadBalancerSettings.ConsistentHashLB.HTTPCookie": {"name", "path", "ttl"},
	"istio.networking.v1alpha3.ConnectionPoolSettings":                           {"tcp", "http"},
	"istio.networking.v1alpha3.ConnectionPoolSettings.TCPSettings":               {"maxConnections", "connectTimeout", "idleTimeout"},
	"istio.networking.v1alpha3.ConnectionPoolSettings.HTTPSettings": {"http1MaxPendingRequests", "http2MaxRequests", "maxRequestsPerConnection",
		"maxRetries", "idleTimeout", "h2UpgradePolicy", "useClientProtocol", "maxConcurrentStreams"},
	"istio.networking.v1alpha3.OutlierDetection": {"consecutiveErrors", "splitExternalLocalOriginErrors", "consecutiveLocalOriginFailures",
		"consecutiveGatewayErrors", "consecutive5xxErrors", "interval", "baseEjectionTime", "maxEjectionPercent", "minHealthPercent"},
	"istio.networking.v1alpha3.ClientTLSSettings": {"mode", "clientCertificate", "privateKey", "caCertificates", "subjectAltNames", "sni", "insecureSkipVerify"},

	"istio.networking.v1alpha3.Gateway":           {"servers", "selector"},
	"istio.networking.v1alpha3.Server":            {"port", "hosts", "tls", "name"},
	"istio.networking.v1alpha3.Port":              {"number", "protocol", "name"},
	"istio.networking.v1alpha3.ServerTLSSettings": {"httpsRedirect", "mode", "serverCertificate", "privateKey", "caCertificates", "subjectAltNames", "minProtocolVersion", "maxProtocolVersion", "cipherSuites", "verifyCertificateSpki", "verifyCertificateHash"},

	"istio.networking.v1alpha3.Sidecar":               {"workloadSelector", "egress", "outboundTrafficPolicy"},
	"istio.networking.v1alpha3.WorkloadSelector":      {"labels"},
	"istio.networking.v1alpha3.IstioEgressListener":   {"hosts"},
	"istio.networking.v1alpha3.OutboundTrafficPolicy": {"mode"},
}

// why explains the untranslated fields users are most likely to meet.
var why = map[string]string{
	"HTTPRoute.corsPolicy":                                     "the weft proxy has no CORS filter yet",
	"HTTPRoute.delegate":                                       "VirtualService delegation is not supported yet",
	"HTTPMatchRequest.statPrefix":                              "per-route stat prefixes are not supported by the weft proxy",
	"HTTPRetry.retryRemoteLocalities":                          "the weft proxy has no retry priority (previous_priorities)",
	"HTTPRedirect.derivePort":                                  "deriving the redirect port is not supported; set port",
	"HTTPFaultInjection.Delay.exponentialDelay":                "exponential delays are not supported by Envoy's fault filter",
	"HTTPFaultInjection.Abort.http2Error":                      "HTTP/2 error aborts are not supported by Envoy's fault filter",
	"L4MatchAttributes.destinationSubnets":                     "destination subnet matches are not supported yet",
	"L4MatchAttributes.sourceSubnet":                           "source subnet matches are not supported yet",
	"TLSMatchAttributes.destinationSubnets":                    "destination subnet matches are not supported yet",
	"ClientTLSSettings.credentialName":                         "credentials from secrets need SDS, which weft control does not serve yet; use clientCertificate/privateKey/caCertificates file paths",
	"ServerTLSSettings.credentialName":                         "credentials from secrets need SDS, which weft control does not serve yet; use serverCertificate/privateKey file paths",
	"ServerTLSSettings.credentialNames":                        "credentials from secrets need SDS, which weft control does not serve yet; use serverCertificate/privateKey file paths",
	"LoadBalancerSettings.localityLbSetting":                   "locality failover and distribution are not supported yet",
	"ConnectionPoolSettings.TCPSettings.tcpKeepalive":          "TCP keepalive is not supported by the weft proxy",
	"ConnectionPoolSettings.TCPSettings.maxConnectionDuration": "upstream max connection duration is not supported by the weft proxy",
	"ConnectionPoolSettings.HTTPSettings.http2KeepAlive":       "HTTP/2 keepalive pings are not supported by the weft proxy",
	"TrafficPolicy.tunnel":                                     "tunnelling is not supported",
	"TrafficPolicy.proxyProtocol":                              "the upstream PROXY protocol is not supported by the weft proxy",
	"Sidecar.ingress":                                          "Sidecar ingress listeners are not supported yet",
	"IstioEgressListener.port":                                 "per-port egress listeners are not supported yet; list hosts without a port",
}

var translatedSets = func() map[protoreflect.FullName]map[string]bool {
	out := map[protoreflect.FullName]map[string]bool{}
	for name, fields := range translated {
		set := map[string]bool{}
		for _, f := range fields {
			set[f] = true
		}
		out[name] = set
	}
	return out
}()

// checkIstio returns a FieldError for the first field of c's spec that weft does not
// translate.
func checkIstio(c config.Config) error {
	if c.Spec == nil {
		return fieldErr(c, "spec", "missing")
	}
	path, reason := untranslated("spec", c.Spec.ProtoReflect())
	if path == "" {
		return nil
	}
	return fieldErr(c, path, "%s", reason)
}

func untranslated(path string, m protoreflect.Message) (string, string) {
	desc := m.Descriptor()
	set, known := translatedSets[desc.FullName()]
	if !known {
		if strings.HasPrefix(string(desc.FullName()), "istio.") {
			return path, "not supported by weft"
		}
		return "", ""
	}
	var badPath, reason string
	rangeSorted(m, func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		p := path + "." + fd.JSONName()
		if !set[fd.JSONName()] {
			badPath, reason = p, notTranslatedReason(desc, fd)
			return false
		}
		badPath, reason = untranslatedValue(p, fd, v)
		return badPath == ""
	})
	return badPath, reason
}

func untranslatedValue(path string, fd protoreflect.FieldDescriptor, v protoreflect.Value) (string, string) {
	switch {
	case fd.IsList() && fd.Kind() == protoreflect.MessageKind:
		for i := 0; i < v.List().Len(); i++ {
			if p, r := untranslated(path+"["+strconv.Itoa(i)+"]", v.List().Get(i).Message()); p != "" {
				return p, r
			}
		}
	case fd.IsMap() && fd.MapValue().Kind() == protoreflect.MessageKind:
		var keys []string
		v.Map().Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			keys = append(keys, k.String())
			return true
		})
		sort.Strings(keys)
		for _, k := range keys {
			mv := v.Map().Get(protoreflect.ValueOfString(k).MapKey())
			if p, r := untranslated(path+"["+k+"]", mv.Message()); p != "" {
				return p, r
			}
		}
	case !fd.IsList() && !fd.IsMap() && fd.Kind() == protoreflect.MessageKind:
		return untranslated(path, v.Message())
	}
	return "", ""
}

// rangeSorted visits the set fields of m in field-number order, so that the first
// untranslated field reported is always the same.
func rangeSorted(m protoreflect.Message, f func(protoreflect.FieldDescriptor, protoreflect.Value) bool) {
	type kv struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var set []kv
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		set = append(set, kv{fd, v})
		return true
	})
	sort.Slice(set, func(i, j int) bool { return set[i].fd.Number() < set[j].fd.Number() })
	for _, e := range set {
		if !f(e.fd, e.v) {
			return
		}
	}
}

func notTranslatedReason(desc protoreflect.MessageDescriptor, fd protoreflect.FieldDescriptor) string {
	short := strings.TrimPrefix(string(desc.FullName()), string(desc.ParentFile().Package())+".")
	if r, ok := why[short+"."+fd.JSONName()]; ok {
		return r
	}
	return "not supported by weft"
}
