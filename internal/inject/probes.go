package inject

import (
	"encoding/json"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// ProbersEnv carries the app probes the injector moved to the status port, as JSON
// keyed by the status port's path. weft proxy parses it (internal/proxy/probe).
const ProbersEnv = "ISTIO_KUBE_APP_PROBERS"

// prober is one original probe in ISTIO_KUBE_APP_PROBERS, with its port as a number.
type prober struct {
	HTTPGet        *httpGet    `json:"httpGet,omitempty"`
	TCPSocket      *tcpSocket  `json:"tcpSocket,omitempty"`
	GRPC           *grpcAction `json:"grpc,omitempty"`
	TimeoutSeconds int32       `json:"timeoutSeconds,omitempty"`
}

type httpGet struct {
	Path        string              `json:"path,omitempty"`
	Port        int32               `json:"port"`
	Host        string              `json:"host,omitempty"`
	Scheme      corev1.URIScheme    `json:"scheme,omitempty"`
	HTTPHeaders []corev1.HTTPHeader `json:"httpHeaders,omitempty"`
}

type grpcAction struct {
	Port    int32   `json:"port"`
	Service *string `json:"service,omitempty"`
}

type tcpSocket struct {
	Port int32  `json:"port"`
	Host string `json:"host,omitempty"`
}

// rewriteProbes points the app containers' HTTP, TCP and gRPC probes at the status
// port (/app-health/<container>/readyz, livez, startupz), as Istio does so that the
// kubelet's plain-text probes still reach an app whose inbound traffic needs mTLS,
// and returns the original probes as ISTIO_KUBE_APP_PROBERS' JSON ("" when none).
// Exec probes stay, and so does a probe whose named port the container does not
// declare (as in Istio: the kubelet reports it).
func rewriteProbes(containers []corev1.Container, statusPort int32) (string, error) {
	set := map[string]*prober{}
	for i := range containers {
		c := &containers[i]
		ports := map[string]int32{}
		for _, p := range c.Ports {
			if p.Name != "" {
				ports[p.Name] = p.ContainerPort
			}
		}
		for _, pr := range []struct {
			kind  string
			probe *corev1.Probe
		}{{"readyz", c.ReadinessProbe}, {"livez", c.LivenessProbe}, {"startupz", c.StartupProbe}} {
			if pr.probe == nil {
				continue
			}
			orig := convertProbe(pr.probe.ProbeHandler, ports, statusPort)
			if orig == nil {
				continue
			}
			orig.TimeoutSeconds = pr.probe.TimeoutSeconds
			path := fmt.Sprintf("/app-health/%s/%s", c.Name, pr.kind)
			set[path] = orig
			pr.probe.ProbeHandler = corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
				Path: path, Port: intstr.FromInt32(statusPort), Scheme: corev1.URISchemeHTTP}}
		}
	}
	if len(set) == 0 {
		return "", nil
	}
	data, err := json.Marshal(set)
	return string(data), err
}

// convertProbe returns the probe the agent runs for h, or nil if h stays as it is.
func convertProbe(h corev1.ProbeHandler, ports map[string]int32, statusPort int32) *prober {
	switch {
	case h.HTTPGet != nil:
		port, ok := resolvePort(h.HTTPGet.Port, ports)
		if !ok || port == statusPort {
			return nil
		}
		g := h.HTTPGet
		return &prober{HTTPGet: &httpGet{Path: g.Path, Port: port, Host: g.Host, Scheme: g.Scheme, HTTPHeaders: g.HTTPHeaders}}
	case h.TCPSocket != nil:
		port, ok := resolvePort(h.TCPSocket.Port, ports)
		if !ok {
			return nil
		}
		return &prober{TCPSocket: &tcpSocket{Port: port, Host: h.TCPSocket.Host}}
	case h.GRPC != nil:
		return &prober{GRPC: &grpcAction{Port: h.GRPC.Port, Service: h.GRPC.Service}}
	}
	return nil
}

func resolvePort(p intstr.IntOrString, ports map[string]int32) (int32, bool) {
	if p.Type == intstr.Int {
		return p.IntVal, p.IntVal > 0
	}
	n, ok := ports[p.StrVal]
	return n, ok
}
