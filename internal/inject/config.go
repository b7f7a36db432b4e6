package inject

import (
	"errors"
	"fmt"
	"net"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"sigs.k8s.io/yaml"
)

// Policy says whether pods without an opinion are injected.
type Policy string

// Istio's injection policies.
const (
	// PolicyEnabled injects every pod the webhook sees unless it says
	// sidecar.istio.io/inject: "false".
	PolicyEnabled Policy = "enabled"
	// PolicyDisabled injects only the pods that say sidecar.istio.io/inject: "true".
	PolicyDisabled Policy = "disabled"
)

// Config is what the injector is told by the control plane: Istio keeps it in the
// istio-sidecar-injector ConfigMap (values) and the mesh config's defaultConfig.
// DefaultConfig gives Istio's defaults; LoadConfig reads YAML over them.
type Config struct {
	// Image is weft's container image, for both containers (the
	// sidecar.istio.io/proxyImage annotation overrides it for a pod).
	Image           string            `json:"image"`
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`
	// Command runs weft in the image (default ["weft"]); the subcommand follows.
	Command []string `json:"command"`
	Policy  Policy   `json:"policy"`
	// Revision is the control plane revision recorded on injected pods ("default").
	Revision      string `json:"revision"`
	ClusterDomain string `json:"clusterDomain"`
	TrustDomain   string `json:"trustDomain"`
	ClusterID     string `json:"clusterID"`
	MeshID        string `json:"meshID,omitempty"`
	// RewriteAppProbes moves app probes to the proxy's status port (Istio's
	// sidecarInjectorWebhook.rewriteAppHTTPProbe); the pod annotation
	// sidecar.istio.io/rewriteAppHTTPProbers overrides it.
	RewriteAppProbes bool `json:"rewriteAppProbes"`
	// DefaultConfig is the mesh's default ProxyConfig; a pod's proxy.istio.io/config
	// annotation is merged over it field by field.
	DefaultConfig ProxyConfig `json:"defaultConfig"`
	Proxy         ProxyValues `json:"proxy"`
	ProxyInit     InitValues  `json:"proxyInit"`
}

// ProxyValues are the istio-proxy container's defaults (Istio's values.global.proxy),
// each overridden by its pod annotation.
type ProxyValues struct {
	LogLevel  string                      `json:"logLevel"`
	Resources corev1.ResourceRequirements `json:"resources"`
	// The capture settings passed to weft iptables (-i, -x, -b, -d, -q, -o).
	IncludeIPRanges      string `json:"includeIPRanges"`
	ExcludeIPRanges      string `json:"excludeIPRanges"`
	IncludeInboundPorts  string `json:"includeInboundPorts"`
	ExcludeInboundPorts  string `json:"excludeInboundPorts"`
	IncludeOutboundPorts string `json:"includeOutboundPorts"`
	ExcludeOutboundPorts string `json:"excludeOutboundPorts"`
	// The readiness probe on 15021.
	ReadinessInitialDelaySeconds int32 `json:"readinessInitialDelaySeconds"`
	ReadinessPeriodSeconds       int32 `json:"readinessPeriodSeconds"`
	ReadinessFailureThreshold    int32 `json:"readinessFailureThreshold"`
}

// InitValues are the istio-init container's settings.
type InitValues struct {
	Resources corev1.ResourceRequirements `json:"resources"`
}

// DefaultConfig returns Istio's defaults with the control plane at
// istiod.istio-system.svc:15012 (xDS over TLS). Image is left empty: the caller knows which.
func DefaultConfig() Config {
	return Config{
		Command:          []string{"weft"},
		ImagePullPolicy:  corev1.PullIfNotPresent,
		Policy:           PolicyEnabled,
		Revision:         "default",
		ClusterDomain:    "cluster.local",
		TrustDomain:      "cluster.local",
		ClusterID:        "Kubernetes",
		RewriteAppProbes: true,
		DefaultConfig: ProxyConfig{
			DiscoveryAddress:         "istiod.istio-system.svc:15012",
			Concurrency:              ptr(int32(2)),
			TerminationDrainDuration: "5s",
			InterceptionMode:         "REDIRECT",
			StatusPort:               ptr(int32(15020)),
		},
		Proxy: ProxyValues{
			LogLevel:                  "warning",
			Resources:                 resources("100m", "128Mi", "2000m", "1Gi"),
			IncludeIPRanges:           "*",
			IncludeInboundPorts:       "*",
			ReadinessPeriodSeconds:    15,
			ReadinessFailureThreshold: 4,
		},
		ProxyInit: InitValues{Resources: resources("10m", "10Mi", "2000m", "1Gi")},
	}
}

// LoadConfig reads a Config in YAML over DefaultConfig. Unknown fields are errors;
// the values are checked by Validate, once the caller has applied its own.
func LoadConfig(data []byte) (Config, error) {
	c := DefaultConfig()
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return c, fmt.Errorf("injector config: %w", err)
	}
	return c, nil
}

// Validate reports what would make every injection fail.
func (c *Config) Validate() error {
	var errs []error
	if c.Image == "" {
		errs = append(errs, errors.New("image is required"))
	}
	if len(c.Command) == 0 {
		errs = append(errs, errors.New("command is required"))
	}
	if c.Policy != PolicyEnabled && c.Policy != PolicyDisabled {
		errs = append(errs, fmt.Errorf("policy %q: want enabled or disabled", c.Policy))
	}
	if _, _, err := net.SplitHostPort(c.DefaultConfig.DiscoveryAddress); err != nil {
		errs = append(errs, fmt.Errorf("defaultConfig.discoveryAddress: %w", err))
	}
	if err := c.DefaultConfig.validate(); err != nil {
		errs = append(errs, fmt.Errorf("defaultConfig.%w", err))
	}
	if err := checkLogLevel(c.Proxy.LogLevel); err != nil {
		errs = append(errs, fmt.Errorf("proxy.logLevel: %w", err))
	}
	if err := checkRequestsWithinLimits(c.Proxy.Resources); err != nil {
		errs = append(errs, fmt.Errorf("proxy.resources: %w", err))
	}
	if err := checkRequestsWithinLimits(c.ProxyInit.Resources); err != nil {
		errs = append(errs, fmt.Errorf("proxyInit.resources: %w", err))
	}
	errs = append(errs, checkCapture(c.Proxy.captureValues()))
	return errors.Join(errs...)
}

func resources(cpu, mem, cpuLimit, memLimit string) corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu), corev1.ResourceMemory: resource.MustParse(mem)},
		Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpuLimit), corev1.ResourceMemory: resource.MustParse(memLimit)},
	}
}

// checkRequestsWithinLimits rejects a request above its limit, which the API server
// would reject with the pod.
func checkRequestsWithinLimits(r corev1.ResourceRequirements) error {
	for name, req := range r.Requests {
		if lim, ok := r.Limits[name]; ok && req.Cmp(lim) > 0 {
			return fmt.Errorf("%s request %s is above its limit %s", name, req.String(), lim.String())
		}
	}
	return nil
}

func checkLogLevel(l string) error {
	switch l {
	case "trace", "debug", "info", "warning", "warn", "error", "critical", "off":
		return nil
	}
	return fmt.Errorf("log level %q: want trace, debug, info, warning, error, critical or off", l)
}

func ptr[T any](v T) *T { return &v }
