package inject

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDecide(t *testing.T) {
	disabled := testConfig()
	disabled.Policy = PolicyDisabled
	app := []corev1.Container{{Name: "app"}}
	for _, tc := range []struct {
		name   string
		cfg    *Config
		meta   metav1.ObjectMeta
		spec   corev1.PodSpec
		inject bool
	}{
		{"default policy enabled", testConfig(), metav1.ObjectMeta{Namespace: "default"}, corev1.PodSpec{Containers: app}, true},
		{"default policy disabled", disabled, metav1.ObjectMeta{Namespace: "default"}, corev1.PodSpec{Containers: app}, false},
		{"annotation false", testConfig(), metav1.ObjectMeta{Namespace: "default",
			Annotations: map[string]string{AnnotationInject: "false"}}, corev1.PodSpec{Containers: app}, false},
		{"annotation garbage skips", testConfig(), metav1.ObjectMeta{Namespace: "default",
			Annotations: map[string]string{AnnotationInject: "maybe"}}, corev1.PodSpec{Containers: app}, false},
		{"annotation yes with policy disabled", disabled, metav1.ObjectMeta{Namespace: "default",
			Annotations: map[string]string{AnnotationInject: "Yes"}}, corev1.PodSpec{Containers: app}, true},
		{"label wins over annotation", testConfig(), metav1.ObjectMeta{Namespace: "default",
			Labels:      map[string]string{LabelInject: "false"},
			Annotations: map[string]string{AnnotationInject: "true"}}, corev1.PodSpec{Containers: app}, false},
		{"label true", disabled, metav1.ObjectMeta{Namespace: "default",
			Labels: map[string]string{LabelInject: "true"}}, corev1.PodSpec{Containers: app}, true},
		{"host network", testConfig(), metav1.ObjectMeta{Namespace: "default",
			Annotations: map[string]string{AnnotationInject: "true"}}, corev1.PodSpec{Containers: app, HostNetwork: true}, false},
		{"kube-system", testConfig(), metav1.ObjectMeta{Namespace: "kube-system",
			Annotations: map[string]string{AnnotationInject: "true"}}, corev1.PodSpec{Containers: app}, false},
		{"already injected", testConfig(), metav1.ObjectMeta{Namespace: "default",
			Annotations: map[string]string{AnnotationStatus: "{}"}}, corev1.PodSpec{Containers: app}, false},
		{"manual sidecar", testConfig(), metav1.ObjectMeta{Namespace: "default"},
			corev1.PodSpec{Containers: append(app, corev1.Container{Name: ProxyContainerName})}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := Decide(tc.cfg, &tc.meta, &tc.spec)
			if d.Inject != tc.inject || d.Reason == "" {
				t.Errorf("Decide = %+v, want inject %v with a reason", d, tc.inject)
			}
		})
	}
}

func TestOwnerOf(t *testing.T) {
	ctl := true
	for _, tc := range []struct {
		name string
		pod  corev1.Pod
		want Owner
	}{
		{"bare pod", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}}, Owner{"v1", "Pod", "p"}},
		{"generated name", corev1.Pod{ObjectMeta: metav1.ObjectMeta{GenerateName: "p-"}}, Owner{"v1", "Pod", "p"}},
		{"deployment", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"pod-template-hash": "abc"},
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web-abc", Controller: &ctl}}}},
			Owner{"apps/v1", "Deployment", "web"}},
		{"replicaset", corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: "web", Controller: &ctl}}}},
			Owner{"apps/v1", "ReplicaSet", "web"}},
		{"cronjob", corev1.Pod{ObjectMeta: metav1.ObjectMeta{
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "nightly-29012345", Controller: &ctl}}}},
			Owner{"batch/v1", "CronJob", "nightly"}},
		{"statefulset", corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "db-0",
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: &ctl}}}},
			Owner{"apps/v1", "StatefulSet", "db"}},
	} {
		if got := ownerOf(&tc.pod); got != tc.want {
			t.Errorf("%s: ownerOf = %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
