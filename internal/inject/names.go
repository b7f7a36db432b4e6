package inject

import (
	"fmt"
	"slices"
	"strings"
)

// The annotations and labels injection reads and writes, with Istio's names.
const (
	AnnotationInject               = "sidecar.istio.io/inject" // also a label, which wins
	AnnotationStatus               = "sidecar.istio.io/status"
	AnnotationProxyConfig          = "proxy.istio.io/config"
	AnnotationProxyImage           = "sidecar.istio.io/proxyImage"
	AnnotationProxyCPU             = "sidecar.istio.io/proxyCPU"
	AnnotationProxyMemory          = "sidecar.istio.io/proxyMemory"
	AnnotationProxyCPULimit        = "sidecar.istio.io/proxyCPULimit"
	AnnotationProxyMemoryLimit     = "sidecar.istio.io/proxyMemoryLimit"
	AnnotationInterceptionMode     = "sidecar.istio.io/interceptionMode"
	AnnotationLogLevel             = "sidecar.istio.io/logLevel"
	AnnotationRewriteProbes        = "sidecar.istio.io/rewriteAppHTTPProbers"
	AnnotationNativeSidecar        = "sidecar.istio.io/nativeSidecar"
	AnnotationStatusPort           = "status.sidecar.istio.io/port"
	AnnotationReadinessDelay       = "readiness.status.sidecar.istio.io/initialDelaySeconds"
	AnnotationReadinessPeriod      = "readiness.status.sidecar.istio.io/periodSeconds"
	AnnotationReadinessFailures    = "readiness.status.sidecar.istio.io/failureThreshold"
	AnnotationIncludeOutboundIPs   = "traffic.sidecar.istio.io/includeOutboundIPRanges"
	AnnotationExcludeOutboundIPs   = "traffic.sidecar.istio.io/excludeOutboundIPRanges"
	AnnotationIncludeInboundPorts  = "traffic.sidecar.istio.io/includeInboundPorts"
	AnnotationExcludeInboundPorts  = "traffic.sidecar.istio.io/excludeInboundPorts"
	AnnotationIncludeOutboundPorts = "traffic.sidecar.istio.io/includeOutboundPorts"
	AnnotationExcludeOutboundPorts = "traffic.sidecar.istio.io/excludeOutboundPorts"
	AnnotationKubevirtInterfaces   = "traffic.sidecar.istio.io/kubevirtInterfaces"
	AnnotationRerouteVirtualIfaces = "istio.io/reroute-virtual-interfaces"
	AnnotationExcludeInterfaces    = "traffic.sidecar.istio.io/excludeInterfaces"
	AnnotationRevision             = "istio.io/rev"
	AnnotationDefaultContainer     = "kubectl.kubernetes.io/default-container"
	AnnotationDefaultLogsContainer = "kubectl.kubernetes.io/default-logs-container"
	AnnotationPrometheusScrape     = "prometheus.io/scrape"
	AnnotationPrometheusPort       = "prometheus.io/port"
	AnnotationPrometheusPath       = "prometheus.io/path"

	LabelInject            = AnnotationInject
	LabelInjection         = "istio-injection" // on namespaces: "enabled"
	LabelRevision          = "istio.io/rev"    // on namespaces and pods
	LabelTLSMode           = "security.istio.io/tlsMode"
	LabelCanonicalName     = "service.istio.io/canonical-name"
	LabelCanonicalRevision = "service.istio.io/canonical-revision"
)

// The containers and volume injection adds.
const (
	InitContainerName  = "istio-init"
	ProxyContainerName = "istio-proxy"
	PodInfoVolume      = "istio-podinfo"
	podInfoPath        = "/etc/istio/pod" // the proxy's PodLabelsFile is podInfoPath/labels
	// CACertVolume holds the ConfigMap the control plane's leader publishes in every
	// namespace, RootCertConfigMap, with the root the proxy verifies secure xDS
	// with; mounted at caCertPath (the proxy's DefaultXDSRootCert is
	// caCertPath/root-cert.pem).
	CACertVolume      = "istiod-ca-cert"
	RootCertConfigMap = "istio-ca-root-cert"
	caCertPath        = "/var/run/secrets/istio"
	// secureXDSPort is istiod's xDS port over TLS, which the proxy dials over TLS.
	secureXDSPort = "15012"
)

// known are the annotations of the injection prefixes that weft understands.
var known = []string{
	AnnotationInject, AnnotationStatus, AnnotationProxyConfig, AnnotationProxyImage, AnnotationProxyCPU,
	AnnotationProxyMemory, AnnotationProxyCPULimit, AnnotationProxyMemoryLimit, AnnotationInterceptionMode,
	AnnotationLogLevel, AnnotationRewriteProbes, AnnotationNativeSidecar, AnnotationStatusPort,
	AnnotationReadinessDelay, AnnotationReadinessPeriod, AnnotationReadinessFailures, AnnotationIncludeOutboundIPs,
	AnnotationExcludeOutboundIPs, AnnotationIncludeInboundPorts, AnnotationExcludeInboundPorts,
	AnnotationIncludeOutboundPorts, AnnotationExcludeOutboundPorts, AnnotationKubevirtInterfaces,
	AnnotationExcludeInterfaces,
}

// injectionPrefixes are the annotation prefixes that configure injection in Istio.
var injectionPrefixes = []string{"sidecar.istio.io/", "traffic.sidecar.istio.io/", "status.sidecar.istio.io/",
	"readiness.status.sidecar.istio.io/", "proxy.istio.io/"}

// checkAnnotations rejects injection annotations weft does not implement, naming
// them, rather than ignoring what the user asked for.
func checkAnnotations(annotations map[string]string) error {
	var bad []string
	for k := range annotations {
		for _, p := range injectionPrefixes {
			if strings.HasPrefix(k, p) && !slices.Contains(known, k) {
				bad = append(bad, k)
				break
			}
		}
	}
	if len(bad) == 0 {
		return nil
	}
	slices.Sort(bad)
	return fmt.Errorf("annotation %s: not supported by weft's injector", strings.Join(bad, ", "))
}
