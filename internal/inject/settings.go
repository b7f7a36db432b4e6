package inject

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// settings are one pod's injection settings: the Config with the pod's annotations
// applied, every value checked.
type settings struct {
	pc            ProxyConfig
	image         string
	logLevel      string
	resources     corev1.ResourceRequirements
	captureArgs   []string // nil when interception is NONE
	rewriteProbes bool
	statusPort    int32
	readiness     corev1.Probe
}

// readSettings applies and checks a pod's annotations. Every error names the
// annotation it comes from.
func readSettings(cfg *Config, ann map[string]string) (*settings, error) {
	if err := checkAnnotations(ann); err != nil {
		return nil, err
	}
	s := &settings{pc: cfg.DefaultConfig, image: cfg.Image, logLevel: cfg.Proxy.LogLevel,
		rewriteProbes: cfg.RewriteAppProbes}
	if v, ok := ann[AnnotationProxyConfig]; ok {
		over, err := ParseProxyConfig(v)
		if err != nil {
			return nil, fmt.Errorf("annotation %s: %w", AnnotationProxyConfig, err)
		}
		s.pc = s.pc.merge(over)
	}
	var errs []error
	add := func(name string, err error) {
		if err != nil {
			errs = append(errs, fmt.Errorf("annotation %s: %w", name, err))
		}
	}
	if v, ok := ann[AnnotationInterceptionMode]; ok {
		add(AnnotationInterceptionMode, (&ProxyConfig{InterceptionMode: v}).validate())
		s.pc.InterceptionMode = v
	}
	if v, ok := ann[AnnotationStatusPort]; ok {
		n, err := parseInt32(v, 0, 65535)
		add(AnnotationStatusPort, err)
		s.pc.StatusPort = &n
	}
	if s.pc.StatusPort != nil {
		s.statusPort = *s.pc.StatusPort
	}
	if v, ok := ann[AnnotationProxyImage]; ok {
		s.image = v
		if v == "" {
			add(AnnotationProxyImage, errors.New("empty image"))
		}
	}
	if v, ok := ann[AnnotationLogLevel]; ok {
		s.logLevel = v
		add(AnnotationLogLevel, checkLogLevel(v))
	}
	if v, ok := ann[AnnotationRewriteProbes]; ok {
		b, err := strconv.ParseBool(v)
		add(AnnotationRewriteProbes, err)
		s.rewriteProbes = b
	}
	if v, ok := ann[AnnotationNativeSidecar]; ok {
		if b, err := strconv.ParseBool(v); err != nil || !b {
			add(AnnotationNativeSidecar, fmt.Errorf("%q: weft injects the proxy only as a native sidecar", v))
		}
	}
	var err error
	s.resources, err = proxyResources(cfg.Proxy.Resources, ann)
	errs = append(errs, err)
	s.readiness, err = readinessProbe(cfg.Proxy, ann)
	errs = append(errs, err)
	if s.pc.InterceptionMode != "NONE" {
		s.captureArgs, err = captureArgs(cfg.Proxy.captureValues(), ann, s.pc.InterceptionMode, s.statusPort)
		errs = append(errs, err)
	}
	return s, errors.Join(errs...)
}

// proxyResources overrides the default requests and limits with the
// sidecar.istio.io/proxyCPU, proxyMemory, proxyCPULimit and proxyMemoryLimit
// annotations, each on its own (Istio drops every default once one is given).
func proxyResources(def corev1.ResourceRequirements, ann map[string]string) (corev1.ResourceRequirements, error) {
	r := *def.DeepCopy()
	var errs []error
	for _, o := range []struct {
		name string
		list *corev1.ResourceList
		res  corev1.ResourceName
	}{
		{AnnotationProxyCPU, &r.Requests, corev1.ResourceCPU},
		{AnnotationProxyMemory, &r.Requests, corev1.ResourceMemory},
		{AnnotationProxyCPULimit, &r.Limits, corev1.ResourceCPU},
		{AnnotationProxyMemoryLimit, &r.Limits, corev1.ResourceMemory},
	} {
		v, ok := ann[o.name]
		if !ok {
			continue
		}
		q, err := resource.ParseQuantity(v)
		if err != nil {
			errs = append(errs, fmt.Errorf("annotation %s: %q: %w", o.name, v, err))
			continue
		}
		if *o.list == nil {
			*o.list = corev1.ResourceList{}
		}
		(*o.list)[o.res] = q
	}
	if len(errs) == 0 {
		if err := checkRequestsWithinLimits(r); err != nil {
			errs = append(errs, fmt.Errorf("proxy resources: %w", err))
		}
	}
	return r, errors.Join(errs...)
}

// readinessProbe is istio-proxy's readiness probe on 15021, with the
// readiness.status.sidecar.istio.io annotations applied.
func readinessProbe(v ProxyValues, ann map[string]string) (corev1.Probe, error) {
	p := corev1.Probe{
		ProbeHandler:        healthz(),
		InitialDelaySeconds: v.ReadinessInitialDelaySeconds,
		PeriodSeconds:       v.ReadinessPeriodSeconds,
		TimeoutSeconds:      3,
		FailureThreshold:    v.ReadinessFailureThreshold,
	}
	var errs []error
	for _, o := range []struct {
		name string
		dst  *int32
		min  int32
	}{
		{AnnotationReadinessDelay, &p.InitialDelaySeconds, 0},
		{AnnotationReadinessPeriod, &p.PeriodSeconds, 1},
		{AnnotationReadinessFailures, &p.FailureThreshold, 1},
	} {
		if s, ok := ann[o.name]; ok {
			n, err := parseInt32(s, o.min, 1<<30)
			if err != nil {
				errs = append(errs, fmt.Errorf("annotation %s: %w", o.name, err))
			}
			*o.dst = n
		}
	}
	return p, errors.Join(errs...)
}

func parseInt32(s string, lo, hi int32) (int32, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 32)
	if err != nil {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if int32(n) < lo || int32(n) > hi {
		return 0, fmt.Errorf("%d out of range [%d, %d]", n, lo, hi)
	}
	return int32(n), nil
}

// secureXDS says whether the proxy dials the control plane over TLS: weft proxy does
// when the discovery address's port is istiod's 15012, and then verifies it with the
// root of the istiod-ca-cert volume.
func (s *settings) secureXDS() bool {
	_, port, err := net.SplitHostPort(s.pc.DiscoveryAddress)
	return err == nil && port == secureXDSPort
}
