package inject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// ProxyConfig is the part of Istio's ProxyConfig (meshConfig.defaultConfig and the
// proxy.istio.io/config annotation) that weft implements. Other fields are errors.
type ProxyConfig struct {
	// DiscoveryAddress is the control plane's ADS address.
	DiscoveryAddress string `json:"discoveryAddress,omitempty"`
	// Concurrency is the proxy's worker count; 0 means as many as its CPUs.
	Concurrency *int32 `json:"concurrency,omitempty"`
	// TerminationDrainDuration is how long the proxy drains when the pod stops
	// (weft proxy --drain-time-s, rounded up to whole seconds).
	TerminationDrainDuration string `json:"terminationDrainDuration,omitempty"`
	// InterceptionMode is REDIRECT or NONE (no istio-init; apps use the proxy
	// explicitly). TPROXY is not supported by weft's control plane.
	InterceptionMode string `json:"interceptionMode,omitempty"`
	// StatusPort is the agent's status port (15020); 0 turns it and probe
	// rewriting off.
	StatusPort *int32 `json:"statusPort,omitempty"`
	// ProxyMetadata become environment variables of both containers.
	ProxyMetadata map[string]string `json:"proxyMetadata,omitempty"`
	// HoldApplicationUntilProxyStarts is accepted for compatibility: a native
	// sidecar with a startup probe always holds the apps until the proxy is ready.
	HoldApplicationUntilProxyStarts *bool `json:"holdApplicationUntilProxyStarts,omitempty"`
}

// proxyConfigFields are ProxyConfig's JSON names, for the unsupported-field error.
var proxyConfigFields = []string{"concurrency", "discoveryAddress", "holdApplicationUntilProxyStarts",
	"interceptionMode", "proxyMetadata", "statusPort", "terminationDrainDuration"}

// ParseProxyConfig reads a proxy.istio.io/config value (YAML or JSON, such as
// "{concurrency: 6}"). A field weft does not implement is an error naming it.
func ParseProxyConfig(s string) (ProxyConfig, error) {
	var pc ProxyConfig
	js, err := yaml.YAMLToJSON([]byte(s))
	if err != nil {
		return pc, err
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(js, &fields); err != nil {
		return pc, fmt.Errorf("want a ProxyConfig object: %w", err)
	}
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if !slices.Contains(proxyConfigFields, k) {
			return pc, fmt.Errorf("field %q is not supported by weft (supported: %s)", k, strings.Join(proxyConfigFields, ", "))
		}
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&pc); err != nil {
		return pc, err
	}
	return pc, pc.validate()
}

// validate checks the fields that are set.
func (pc *ProxyConfig) validate() error {
	var errs []error
	if a := pc.DiscoveryAddress; a != "" {
		if _, _, err := net.SplitHostPort(a); err != nil {
			errs = append(errs, fmt.Errorf("discoveryAddress %q: %w", a, err))
		}
	}
	if c := pc.Concurrency; c != nil && *c < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d is negative", *c))
	}
	if d := pc.TerminationDrainDuration; d != "" {
		if v, err := time.ParseDuration(d); err != nil || v < 0 {
			errs = append(errs, fmt.Errorf("terminationDrainDuration %q: want a duration such as 5s", d))
		}
	}
	switch pc.InterceptionMode {
	case "", "REDIRECT", "NONE":
	case "TPROXY":
		errs = append(errs, errors.New(`interceptionMode "TPROXY" is not supported by weft (REDIRECT or NONE)`))
	default:
		errs = append(errs, fmt.Errorf("interceptionMode %q: want REDIRECT or NONE", pc.InterceptionMode))
	}
	if p := pc.StatusPort; p != nil && (*p < 0 || *p > math.MaxUint16) {
		errs = append(errs, fmt.Errorf("statusPort %d out of range", *p))
	}
	if v := pc.ProxyMetadata["ISTIO_META_DNS_CAPTURE"]; strings.EqualFold(v, "true") {
		errs = append(errs, errors.New("proxyMetadata.ISTIO_META_DNS_CAPTURE: weft's proxy has no DNS proxy (port 15053)"))
	}
	return errors.Join(errs...)
}

// merge returns base with the fields set in over replacing its own; proxyMetadata
// maps are merged key by key.
func (pc ProxyConfig) merge(over ProxyConfig) ProxyConfig {
	out := pc
	if over.DiscoveryAddress != "" {
		out.DiscoveryAddress = over.DiscoveryAddress
	}
	if over.Concurrency != nil {
		out.Concurrency = over.Concurrency
	}
	if over.TerminationDrainDuration != "" {
		out.TerminationDrainDuration = over.TerminationDrainDuration
	}
	if over.InterceptionMode != "" {
		out.InterceptionMode = over.InterceptionMode
	}
	if over.StatusPort != nil {
		out.StatusPort = over.StatusPort
	}
	if over.HoldApplicationUntilProxyStarts != nil {
		out.HoldApplicationUntilProxyStarts = over.HoldApplicationUntilProxyStarts
	}
	if len(over.ProxyMetadata) > 0 {
		out.ProxyMetadata = maps.Clone(pc.ProxyMetadata)
		if out.ProxyMetadata == nil {
			out.ProxyMetadata = map[string]string{}
		}
		maps.Copy(out.ProxyMetadata, over.ProxyMetadata)
	}
	return out
}

// drainSeconds is TerminationDrainDuration in whole seconds, rounded up.
func (pc *ProxyConfig) drainSeconds() int {
	d, _ := time.ParseDuration(pc.TerminationDrainDuration)
	return int((d + time.Second - 1) / time.Second)
}
