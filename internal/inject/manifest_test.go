package inject

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

const manifestIn = `# a config map, left alone
apiVersion: v1
kind: ConfigMap
metadata: {name: c}   # odd spacing kept
data: {a: b}
---
# the nightly job
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
  namespace: ops
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers:
          - name: report
            image: report:1
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Pod
  metadata: {name: skipped, annotations: {sidecar.istio.io/inject: "false"}}
  spec: {containers: [{name: a, image: a}]}
- apiVersion: apps/v1
  kind: DaemonSet
  metadata: {name: agent}
  spec:
    selector: {matchLabels: {app: agent}}
    template:
      metadata: {labels: {app: agent}}
      spec: {containers: [{name: agent, image: agent}]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: host}
spec:
  selector: {matchLabels: {app: host}}
  template:
    metadata: {labels: {app: host}}
    spec: {hostNetwork: true, containers: [{name: host, image: host}]}
`

func TestManifest(t *testing.T) {
	out, outcomes, err := Manifest(testConfig(), []byte(manifestIn))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range outcomes {
		got = append(got, o.String())
	}
	want := []string{
		"CronJob ops/nightly: injected (the injection policy is enabled)",
		`Pod skipped: skipped (annotation sidecar.istio.io/inject is false)`,
		"DaemonSet agent: injected (the injection policy is enabled)",
		"Deployment host: skipped (the pod uses the host network)",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("outcomes (-want +got):\n%s", d)
	}
	docs := strings.Split(string(out), "---\n")
	in := strings.Split(manifestIn, "---\n")
	if len(docs) != 4 || docs[0] != in[0] || docs[3] != in[3] {
		t.Fatalf("documents not kept:\n%s", out)
	}
	if !strings.HasPrefix(docs[1], "# the nightly job\napiVersion: batch/v1\n") {
		t.Errorf("leading comment lost:\n%s", docs[1])
	}
	var cj batchv1.CronJob
	if err := yaml.UnmarshalStrict([]byte(docs[1]), &cj); err != nil {
		t.Fatal(err)
	}
	ts := cj.Spec.JobTemplate.Spec.Template
	if len(ts.Spec.InitContainers) != 2 || ts.Namespace != "" || ts.Labels[LabelCanonicalName] != "nightly" {
		t.Errorf("cron job template not injected as the CronJob's: %+v", ts.ObjectMeta)
	}
	var list struct{ Items []corev1.Pod }
	if err := yaml.Unmarshal([]byte(docs[2]), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 2 || len(list.Items[0].Spec.InitContainers) != 0 || list.Items[0].Annotations[AnnotationInject] != "false" {
		t.Errorf("list: skipped pod changed: %+v", list.Items[0])
	}
}

func TestManifestErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containerz: []}", `document 1: Pod p: error unmarshaling JSON: while decoding JSON: json: unknown field "containerz"`},
		{"a: b\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    metadata: {annotations: {sidecar.istio.io/foo: x}}\n",
			"document 2: Deployment d: annotation sidecar.istio.io/foo: not supported"},
		{"a: [", "document 1:"},
	} {
		if _, _, err := Manifest(testConfig(), []byte(tc.in)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Manifest(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}
