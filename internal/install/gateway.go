package install

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The gateway's ports: its status port and the ports its Service's 80 and 443 lead
// to (a non-root process cannot bind below 1024).
const (
	gatewayHealthPort = 15021
	gatewayStatusPort = 15020
	gatewayHTTPPort   = 8080
	gatewayHTTPSPort  = 8443
)

// gateway is the ingress gateway: weft proxy as a router (node type router) taking
// its config from the control plane, selected by Gateways with istio: ingressgateway.
func gateway(o Options) []runtime.Object {
	// Its ServiceAccount may do nothing: the proxy does not talk to the API server.
	return []runtime.Object{serviceAccount(o, Gateway+"-service-account", Gateway), gatewayDeployment(o), gatewayService(o)}
}

func gatewayDeployment(o Options) *appsv1.Deployment {
	podLabels := map[string]string{"app": Gateway, "istio": "ingressgateway"}
	c := corev1.Container{
		Name:            "istio-proxy",
		Image:           o.Image,
		ImagePullPolicy: corev1.PullIfNotPresent,
		Command:         []string{"weft"},
		Args: []string{"proxy", "--type", "router", "--xds", discoveryAddress(o), "--concurrency", "0",
			"--log-level", "warning", "--drain-time-s", "45",
			"--health-address", ":15021", "--status-address", ":15020"},
		Env: []corev1.EnvVar{
			fieldEnv("POD_NAME", "metadata.name"),
			fieldEnv("POD_NAMESPACE", "metadata.namespace"),
			fieldEnv("INSTANCE_IP", "status.podIP"),
			fieldEnv("SERVICE_ACCOUNT", "spec.serviceAccountName"),
			fieldEnv("HOST_IP", "status.hostIP"),
			fieldEnv("ISTIO_META_NODE_NAME", "spec.nodeName"),
			{Name: "ISTIO_META_CLUSTER_ID", Value: "Kubernetes"},
			{Name: "ISTIO_META_WORKLOAD_NAME", Value: Gateway},
			{Name: "ISTIO_META_OWNER", Value: "kubernetes://apis/apps/v1/namespaces/" + o.Namespace + "/deployments/" + Gateway},
		},
		Ports: []corev1.ContainerPort{
			{Name: "http2", ContainerPort: gatewayHTTPPort, Protocol: corev1.ProtocolTCP},
			{Name: "https", ContainerPort: gatewayHTTPSPort, Protocol: corev1.ProtocolTCP},
			{Name: "status-port", ContainerPort: gatewayHealthPort, Protocol: corev1.ProtocolTCP},
			{Name: "http-envoy-prom", ContainerPort: gatewayStatusPort, Protocol: corev1.ProtocolTCP},
		},
		ReadinessProbe: &corev1.Probe{
			ProbeHandler:  corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz/ready", Port: intstr.FromInt32(gatewayHealthPort)}},
			PeriodSeconds: 2, TimeoutSeconds: 3, FailureThreshold: 30,
		},
		SecurityContext: restricted(),
		VolumeMounts: []corev1.VolumeMount{
			{Name: "istio-podinfo", MountPath: "/etc/istio/pod", ReadOnly: true},
			// The root it verifies the control plane's secure xDS with.
			{Name: "istiod-ca-cert", MountPath: "/var/run/secrets/istio", ReadOnly: true},
		},
	}
	spec := corev1.PodSpec{
		ServiceAccountName:           Gateway + "-service-account",
		AutomountServiceAccountToken: ptr(false),
		Containers:                   []corev1.Container{c},
		// The proxy reads its labels (which Gateways select) from the downward API.
		Volumes: []corev1.Volume{{Name: "istio-podinfo", VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{
			Items: []corev1.DownwardAPIVolumeFile{
				{Path: "labels", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels"}},
				{Path: "annotations", FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations"}},
			}}}}, {Name: "istiod-ca-cert", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "istio-ca-root-cert"}}}}},
		TerminationGracePeriodSeconds: ptr(int64(60)),
	}
	return deployment(o, Gateway, o.GatewayReplicas, podLabels, spec)
}

func gatewayService(o Options) *corev1.Service {
	port := func(name string, port, target int32) corev1.ServicePort {
		return corev1.ServicePort{Name: name, Port: port, TargetPort: intstr.FromInt32(target), Protocol: corev1.ProtocolTCP}
	}
	return &corev1.Service{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Service"},
		ObjectMeta: metav1.ObjectMeta{Name: Gateway, Namespace: o.Namespace, Labels: labels(o, Gateway, "istio", "ingressgateway")},
		Spec: corev1.ServiceSpec{
			Type:     corev1.ServiceTypeLoadBalancer,
			Selector: map[string]string{"app": Gateway, "istio": "ingressgateway"},
			Ports: []corev1.ServicePort{
				port("status-port", gatewayHealthPort, gatewayHealthPort),
				port("http2", 80, gatewayHTTPPort),
				port("https", 443, gatewayHTTPSPort),
			},
		},
	}
}
