package inject

import (
	"encoding/json"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// Status is what the sidecar.istio.io/status annotation records of an injection,
// in Istio's shape.
type Status struct {
	InitContainers   []string `json:"initContainers"`
	Containers       []string `json:"containers"`
	Volumes          []string `json:"volumes"`
	ImagePullSecrets []string `json:"imagePullSecrets"`
	Revision         string   `json:"revision"`
}

// podInfo is what the proxy container is told about its pod.
type podInfo struct {
	owner      Owner
	containers []string
	ports      []corev1.ContainerPort
	probers    string // ISTIO_KUBE_APP_PROBERS, "" when none
}

// Pod returns a copy of pod with weft's sidecar injected, and the Decision. A pod
// Decide skips is returned as it is. pod itself is never modified. owner names the
// pod's workload; when it is zero it is found from the pod's controller. An
// annotation weft does not support, or a value it cannot use, is an error naming
// the annotation.
func Pod(cfg *Config, pod *corev1.Pod, owner Owner) (*corev1.Pod, Decision, error) {
	d := Decide(cfg, &pod.ObjectMeta, &pod.Spec)
	if !d.Inject {
		return pod, d, nil
	}
	s, err := readSettings(cfg, pod.Annotations)
	if err != nil {
		return nil, d, err
	}
	for _, v := range pod.Spec.Volumes {
		if v.Name == PodInfoVolume || v.Name == CACertVolume && s.secureXDS() {
			return nil, d, fmt.Errorf("the pod already has a volume named %s", v.Name)
		}
	}
	if hasContainer(&pod.Spec, InitContainerName) {
		return nil, d, fmt.Errorf("the pod already has a container named %s", InitContainerName)
	}
	out := pod.DeepCopy()
	if owner == (Owner{}) {
		owner = ownerOf(pod)
	}
	info := &podInfo{owner: owner}
	for _, c := range out.Spec.Containers {
		info.containers = append(info.containers, c.Name)
		info.ports = append(info.ports, c.Ports...)
	}
	if s.rewriteProbes && s.statusPort > 0 {
		if info.probers, err = rewriteProbes(out.Spec.Containers, s.statusPort); err != nil {
			return nil, d, err
		}
	}
	var added []corev1.Container
	if s.captureArgs != nil {
		added = append(added, initContainer(cfg, s))
	}
	added = append(added, proxyContainer(cfg, s, info))
	out.Spec.InitContainers = append(added, out.Spec.InitContainers...)
	out.Spec.Volumes = append(out.Spec.Volumes, podInfoVolume())
	if s.secureXDS() {
		out.Spec.Volumes = append(out.Spec.Volumes, caCertVolume())
	}
	if err := annotate(cfg, s, out, info, added); err != nil {
		return nil, d, err
	}
	return out, d, nil
}

// annotate adds the labels and annotations Istio's injector adds.
func annotate(cfg *Config, s *settings, pod *corev1.Pod, info *podInfo, added []corev1.Container) error {
	labels, ann := orEmpty(pod.Labels), orEmpty(pod.Annotations)
	setDefault(labels, LabelTLSMode, "istio")
	setDefault(labels, LabelCanonicalName, first(labels[LabelCanonicalName], labels["app.kubernetes.io/name"],
		labels["app"], info.owner.Name))
	setDefault(labels, LabelCanonicalRevision, first(labels[LabelCanonicalRevision], labels["app.kubernetes.io/version"],
		labels["version"], "latest"))
	if len(info.containers) > 0 {
		setDefault(ann, AnnotationDefaultContainer, info.containers[0])
		setDefault(ann, AnnotationDefaultLogsContainer, ann[AnnotationDefaultContainer])
	}
	// The proxy's stats for Prometheus, unless the app has its own scrape
	// annotations: weft does not merge the app's metrics into its own as Istio does.
	_, scrape := ann[AnnotationPrometheusScrape]
	_, port := ann[AnnotationPrometheusPort]
	_, path := ann[AnnotationPrometheusPath]
	if s.statusPort > 0 && !scrape && !port && !path {
		ann[AnnotationPrometheusScrape] = "true"
		ann[AnnotationPrometheusPort] = strconv.Itoa(int(s.statusPort))
		ann[AnnotationPrometheusPath] = "/stats/prometheus"
	}
	ann[AnnotationRevision] = cfg.Revision
	st := Status{Volumes: []string{PodInfoVolume}, Revision: cfg.Revision}
	if s.secureXDS() {
		st.Volumes = append(st.Volumes, CACertVolume)
	}
	for _, c := range added {
		st.InitContainers = append(st.InitContainers, c.Name)
	}
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	ann[AnnotationStatus] = string(data)
	pod.Labels, pod.Annotations = labels, ann
	return nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func setDefault(m map[string]string, k, v string) {
	if _, ok := m[k]; !ok && v != "" {
		m[k] = v
	}
}

func first(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
