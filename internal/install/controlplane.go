package install

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// The control plane's ports, as istiod's.
const (
	xdsPort        = 15010
	secureXDSPort  = 15012
	monitoringPort = 15014
	webhookPort    = 15017
)

// injectConfigPath is where the control plane reads the injector config, mounted
// from the ConfigMap InjectorWebhook.
const injectConfigPath = "/etc/weft/inject/config.yaml"

// discoveryAddress is the control plane's ADS address inside the cluster: xDS over
// TLS, which proxies verify with the root the leader publishes in every namespace
// (ConfigMap istio-ca-root-cert).
func discoveryAddress(o Options) string {
	return fmt.Sprintf("%s.%s.svc:%d", ControlPlane, o.Namespace, secureXDSPort)
}

// controlPlane is the injector's config, the istiod Deployment and its Service.
func controlPlane(o Options) []runtime.Object {
	return []runtime.Object{injectorConfig(o), controlPlaneDeployment(o), controlPlaneService(o)}
}

// injectorConfig is the ConfigMap of the webhook's injector config: the image
// installed, and the control plane's address in this namespace.
func injectorConfig(o Options) *corev1.ConfigMap {
	cfg, _ := yaml.Marshal(map[string]any{
		"image":         o.Image,
		"defaultConfig": map[string]any{"discoveryAddress": discoveryAddress(o)},
	})
	return &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: meta(o, InjectorWebhook, ControlPlane, true),
		Data:       map[string]string{"config.yaml": string(cfg)},
	}
}

// controlPlaneArgs are weft control's flags in the Deployment.
func controlPlaneArgs(o Options) []string {
	return []string{"control", "--kube",
		"--xds-address", fmt.Sprintf(":%d", xdsPort),
		"--secure-xds-address", fmt.Sprintf(":%d", secureXDSPort),
		"--monitoring-address", fmt.Sprintf(":%d", monitoringPort),
		"--webhook-address", fmt.Sprintf(":%d", webhookPort),
		"--tls-hosts", fmt.Sprintf("%s.%s.svc", ControlPlane, o.Namespace),
		"--inject-config", injectConfigPath,
		"--control-namespace", o.Namespace,
		"--ca-secret", CASecret,
		"--webhook-config-name", InjectorWebhook,
		"--validating-webhook-config-name", ValidatorWebhook(o.Namespace),
	}
}

func controlPlaneDeployment(o Options) *appsv1.Deployment {
	podLabels := map[string]string{"app": ControlPlane, "istio": "pilot"}
	c := corev1.Container{
		Name:            "discovery",
		Image:           o.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"weft"},
		Args:            controlPlaneArgs(o),
		Env:             []corev1.EnvVar{fieldEnv("POD_NAME", "metadata.name"), fieldEnv("POD_NAMESPACE", "metadata.namespace")},
		Ports: []corev1.ContainerPort{
			{Name: "grpc-xds", ContainerPort: xdsPort, Protocol: corev1.ProtocolTCP},
			{Name: "https-dns", ContainerPort: secureXDSPort, Protocol: corev1.ProtocolTCP},
			{Name: "http-monitoring", ContainerPort: monitoringPort, Protocol: corev1.ProtocolTCP},
			{Name: "https-webhook", ContainerPort: webhookPort, Protocol: corev1.ProtocolTCP},
		},
		// /metrics answers once the sources have read the cluster.
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/metrics", Port: intstr.FromInt32(monitoringPort)}},
			InitialDelaySeconds: 1, PeriodSeconds: 3, TimeoutSeconds: 5, FailureThreshold: 3,
		},
		Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{
			corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("256Mi")}},
		SecurityContext: restricted(),
		VolumeMounts:    []corev1.VolumeMount{{Name: "inject", MountPath: "/etc/weft/inject", ReadOnly: true}},
	}
	spec := corev1.PodSpec{
		ServiceAccountName: ControlPlane,
		Containers:         []corev1.Container{c},
		Volumes: []corev1.Volume{{Name: "inject", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: InjectorWebhook}}}}},
		// Replicas on different nodes, so that losing one node leaves a control plane.
		Affinity: &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
			PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{Weight: 100,
				PodAffinityTerm: corev1.PodAffinityTerm{TopologyKey: "kubernetes.io/hostname",
					LabelSelector: &metav1.LabelSelector{MatchLabels: podLabels}}}}}},
	}
	return deployment(o, ControlPlane, o.Replicas, podLabels, spec)
}

func controlPlaneService(o Options) *corev1.Service {
	port := func(name string, port, target int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromInt32(target), Protocol: corev1.ProtocolTCP}
	}
	return &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: meta(o, ControlPlane, ControlPlane, true),
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": ControlPlane, "istio": "pilot"},
			Ports: []corev1.ServicePort{
				port("grpc-xds", xdsPort, xdsPort),
				port("https-dns", secureXDSPort, secureXDSPort),
				port("http-monitoring", monitoringPort, monitoringPort),
				port("https-webhook", 443, webhookPort),
			},
		},
	}
}

func deployment(o Options, name string, replicas int32, podLabels map[string]string, spec corev1.PodSpec) *appsv1.Deployment {
	l := labels(o, name)
	for k, v := range podLabels {
		l[k] = v
	}
	return &appsv1.Deployment{TypeMeta: metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: o.Namespace, Labels: l},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: podLabels},
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RollingUpdateDeploymentStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDeployment{MaxUnavailable: ptr(intstr.FromInt32(0)), MaxSurge: ptr(intstr.FromString("100%"))}},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l, Annotations: map[string]string{"sidecar.istio.io/inject": "false"}},
				Spec:       spec,
			},
		},
	}
}

// restricted is a container security context that passes the restricted Pod
// Security Standard: uid 1337, read-only root, no capabilities.
func restricted() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		ReadOnlyRootFilesystem:   ptr(true),
		RunAsNonRoot:             ptr(true),
		RunAsUser:                ptr(int64(1337)),
		RunAsGroup:               ptr(int64(1337)),
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func fieldEnv(name, path string) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: path}}}
}

func ptr[T any](v T) *T { return &v }
