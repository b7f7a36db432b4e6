package inject

import (
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Owner is the workload a pod belongs to: a Deployment, a StatefulSet, a CronJob...
// It names the proxy's workload (ISTIO_META_WORKLOAD_NAME, ISTIO_META_OWNER) and
// is the last default of its canonical service name.
type Owner struct {
	APIVersion string
	Kind       string
	Name       string
}

// uri is Istio's owner URI, with the namespace taken from the pod at run time.
func (o Owner) uri() string {
	return "kubernetes://apis/" + o.APIVersion + "/namespaces/$(POD_NAMESPACE)/" + strings.ToLower(o.Kind) + "s/" + o.Name
}

var cronJobJob = regexp.MustCompile(`^(.+)-\d+$`)

// ownerOf finds a pod's workload from its controller, as Istio does: a ReplicaSet
// named after its pod-template-hash belongs to a Deployment, a Job with a numeric
// suffix to a CronJob; a pod without a controller is its own workload.
func ownerOf(pod *corev1.Pod) Owner {
	ref := metav1.GetControllerOf(pod)
	if ref == nil {
		name := pod.Name
		if name == "" {
			name = strings.TrimSuffix(pod.GenerateName, "-")
		}
		return Owner{APIVersion: "v1", Kind: "Pod", Name: name}
	}
	o := Owner{APIVersion: ref.APIVersion, Kind: ref.Kind, Name: ref.Name}
	switch hash := pod.Labels["pod-template-hash"]; {
	case ref.Kind == "ReplicaSet" && hash != "" && strings.HasSuffix(ref.Name, "-"+hash):
		o = Owner{APIVersion: "apps/v1", Kind: "Deployment", Name: strings.TrimSuffix(ref.Name, "-"+hash)}
	case ref.Kind == "Job":
		if m := cronJobJob.FindStringSubmatch(ref.Name); m != nil {
			o = Owner{APIVersion: "batch/v1", Kind: "CronJob", Name: m[1]}
		}
	}
	return o
}
