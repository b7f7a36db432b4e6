package inject

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The proxy's ports, as pilot-agent's.
const (
	healthPort = 15021
	proxyUID   = int64(1337)
)

func healthz() corev1.ProbeHandler {
	return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz/ready", Port: intstr.FromInt32(healthPort)}}
}

// initContainer is istio-init: weft iptables as root with NET_ADMIN and NET_RAW,
// and the proxy metadata in its environment as Istio passes it (weft iptables reads
// settings such as INVALID_DROP from there).
func initContainer(cfg *Config, s *settings) corev1.Container {
	return corev1.Container{
		Name:            InitContainerName,
		Image:           s.image,
		ImagePullPolicy: cfg.ImagePullPolicy,
		Command:         slices.Clone(cfg.Command),
		Args:            s.captureArgs,
		Env:             metadataEnv(s.pc.ProxyMetadata),
		Resources:       *cfg.ProxyInit.Resources.DeepCopy(),
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr(false),
			Privileged:               ptr(false),
			Capabilities: &corev1.Capabilities{
				Add:  []corev1.Capability{"NET_ADMIN", "NET_RAW"},
				Drop: []corev1.Capability{"ALL"},
			},
			ReadOnlyRootFilesystem: ptr(false),
			RunAsGroup:             ptr(int64(0)),
			RunAsNonRoot:           ptr(false),
			RunAsUser:              ptr(int64(0)),
		},
	}
}

// proxyContainer is istio-proxy: weft proxy driven by the control plane, as a native
// sidecar (restartPolicy Always) whose startup probe holds the app containers until
// the proxy has its config.
func proxyContainer(cfg *Config, s *settings, pod *podInfo) corev1.Container {
	c := corev1.Container{
		Name:            ProxyContainerName,
		Image:           s.image,
		ImagePullPolicy: cfg.ImagePullPolicy,
		Command:         slices.Clone(cfg.Command),
		Args:            proxyArgs(cfg, s),
		Env:             proxyEnv(cfg, s, pod),
		Resources:       s.resources,
		RestartPolicy:   ptr(corev1.ContainerRestartPolicyAlways),
		SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr(false),
			Privileged:               ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			ReadOnlyRootFilesystem:   ptr(true),
			RunAsGroup:               ptr(proxyUID),
			RunAsNonRoot:             ptr(true),
			RunAsUser:                ptr(proxyUID),
		},
		VolumeMounts: []corev1.VolumeMount{{Name: PodInfoVolume, MountPath: podInfoPath}},
	}
	if s.secureXDS() {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: CACertVolume, MountPath: caCertPath, ReadOnly: true})
	}
	if s.statusPort > 0 {
		readiness := s.readiness
		c.ReadinessProbe = &readiness
		c.StartupProbe = &corev1.Probe{ProbeHandler: healthz(), PeriodSeconds: 1, TimeoutSeconds: 3, FailureThreshold: 600}
	}
	return c
}

// proxyArgs are weft proxy's flags; its identity comes from the environment.
func proxyArgs(cfg *Config, s *settings) []string {
	args := []string{"proxy", "--xds", s.pc.DiscoveryAddress}
	if cfg.ClusterDomain != "" && cfg.ClusterDomain != "cluster.local" {
		args = append(args, "--domain", "$(POD_NAMESPACE).svc."+cfg.ClusterDomain)
	}
	if s.pc.Concurrency != nil {
		args = append(args, "--concurrency", strconv.Itoa(int(*s.pc.Concurrency)))
	}
	args = append(args, "--log-level", s.logLevel, "--drain-time-s", strconv.Itoa(s.pc.drainSeconds()),
		"--health-address", ":"+strconv.Itoa(healthPort))
	if s.statusPort > 0 {
		args = append(args, "--status-address", ":"+strconv.Itoa(int(s.statusPort)))
	}
	return args
}

// proxyEnv is the proxy's identity from the downward API and its node metadata
// (ISTIO_META_*), as Istio's template sets them; weft proxy reads both.
func proxyEnv(cfg *Config, s *settings, pod *podInfo) []corev1.EnvVar {
	env := []corev1.EnvVar{
		fieldEnv("POD_NAME", "metadata.name"),
		fieldEnv("POD_NAMESPACE", "metadata.namespace"),
		fieldEnv("INSTANCE_IP", "status.podIP"),
		fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName"),
		fieldEnv("HOST_IP", "status.hostIP"),
	}
	if _, ok := s.resources.Limits[corev1.ResourceMemory]; ok {
		env = append(env, corev1.EnvVar{Name: "GOMEMLIMIT", ValueFrom: &corev1.EnvVarSource{
			ResourceFieldRef: &corev1.ResourceFieldSelector{Resource: "limits.memory", Divisor: resource.MustParse("1")}}})
	}
	if len(pod.ports) > 0 {
		ports, _ := json.Marshal(pod.ports)
		env = append(env, corev1.EnvVar{Name: "ISTIO_META_POD_PORTS", Value: string(ports)})
	}
	env = append(env,
		corev1.EnvVar{Name: "ISTIO_META_APP_CONTAINERS", Value: strings.Join(pod.containers, ",")},
		corev1.EnvVar{Name: "ISTIO_META_CLUSTER_ID", Value: cfg.ClusterID},
		fieldEnv("ISTIO_META_NODE_NAME", "spec.nodeName"),
		corev1.EnvVar{Name: "ISTIO_META_INTERCEPTION_MODE", Value: s.pc.InterceptionMode},
		corev1.EnvVar{Name: "ISTIO_META_WORKLOAD_NAME", Value: pod.owner.Name},
		corev1.EnvVar{Name: "ISTIO_META_OWNER", Value: pod.owner.uri()},
		corev1.EnvVar{Name: "ISTIO_META_MESH_ID", Value: orString(cfg.MeshID, cfg.TrustDomain)},
		corev1.EnvVar{Name: "TRUST_DOMAIN", Value: cfg.TrustDomain},
	)
	if pod.probers != "" {
		env = append(env, corev1.EnvVar{Name: ProbersEnv, Value: pod.probers})
	}
	return append(env, metadataEnv(s.pc.ProxyMetadata)...)
}

func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

// metadataEnv turns ProxyConfig.proxyMetadata into environment variables, sorted.
func metadataEnv(md map[string]string) []corev1.EnvVar {
	var env []corev1.EnvVar
	for _, k := range slices.Sorted(maps.Keys(md)) {
		env = append(env, corev1.EnvVar{Name: k, Value: md[k]})
	}
	return env
}

// podInfoVolume is the downward-API volume the proxy reads the pod's labels from.
func podInfoVolume() corev1.Volume {
	return corev1.Volume{Name: PodInfoVolume, VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
		Items: []corev1.DownwardAPIVolumeFile{
			{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
			{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
		},
	}}}
}

// caCertVolume is the ConfigMap of the CA root, for a proxy on secure xDS. Like
// Istio's it is not optional: the pod waits until the control plane has published
// the root in its namespace.
func caCertVolume() corev1.Volume {
	return corev1.Volume{Name: CACertVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: RootCertConfigMap}}}}
}

func orString(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
