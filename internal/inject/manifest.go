package inject

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// Outcome is what Manifest did with one workload of a manifest.
type Outcome struct {
	// Object is "Kind namespace/name" (no namespace when the document has none).
	Object   string
	Decision Decision
}

// Manifest injects every pod template of a multi-document YAML manifest, as
// `istioctl kube-inject` does: Pods, Deployments, StatefulSets, DaemonSets,
// ReplicaSets, Jobs and CronJobs, also inside a v1 List. Injected documents are
// written back as YAML (keeping their leading comments); every other document,
// and every workload Decide skips, is copied byte for byte. A field the Kubernetes
// API does not know is an error naming the document, as is an annotation the
// injector rejects.
func Manifest(cfg *Config, in []byte) ([]byte, []Outcome, error) {
	var out bytes.Buffer
	var outcomes []Outcome
	for i, doc := range splitDocuments(in) {
		if i > 0 {
			out.WriteString("---\n")
		}
		injected, outs, err := injectDocument(cfg, doc)
		if err != nil {
			return nil, nil, fmt.Errorf("document %d: %w", i+1, err)
		}
		outcomes = append(outcomes, outs...)
		if injected == nil {
			out.Write(doc)
			continue
		}
		out.Write(leadingComments(doc))
		out.Write(injected)
	}
	return out.Bytes(), outcomes, nil
}

// splitDocuments splits YAML at its "---" lines, keeping each document's text.
func splitDocuments(in []byte) [][]byte {
	var docs [][]byte
	var cur []byte
	for _, line := range bytes.SplitAfter(in, []byte("\n")) {
		if t := bytes.TrimRight(line, " \t\r\n"); bytes.Equal(t, []byte("---")) || bytes.HasPrefix(t, []byte("--- ")) {
			docs = append(docs, cur)
			cur = nil
			continue
		}
		cur = append(cur, line...)
	}
	return append(docs, cur)
}

// leadingComments returns the comment and blank lines a document starts with.
func leadingComments(doc []byte) []byte {
	n := 0
	for _, line := range bytes.SplitAfter(doc, []byte("\n")) {
		if t := bytes.TrimSpace(line); len(t) > 0 && t[0] != '#' {
			break
		}
		n += len(line)
	}
	return doc[:n]
}

// typeMeta is enough of a document to know what it is.
type typeMeta struct {
	APIVersion string            `json:"apiVersion"`
	Kind       string            `json:"kind"`
	Metadata   metav1.ObjectMeta `json:"metadata"`
	Items      []json.RawMessage `json:"items"`
}

// injectDocument returns the injected document as YAML, or nil to keep it as is.
func injectDocument(cfg *Config, doc []byte) ([]byte, []Outcome, error) {
	js, err := yaml.YAMLToJSON(doc)
	if err != nil {
		return nil, nil, err
	}
	if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
		return nil, nil, nil // comments only
	}
	obj, outcomes, changed, err := injectObject(cfg, js)
	if err != nil || !changed {
		return nil, outcomes, err
	}
	out, err := yaml.Marshal(obj)
	return out, outcomes, err
}

// injectObject decodes one object and injects its pod templates. changed is false
// when nothing was injected.
func injectObject(cfg *Config, js []byte) (obj any, outcomes []Outcome, changed bool, err error) {
	var tm typeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return nil, nil, false, err
	}
	if tm.Kind == "List" && tm.APIVersion == "v1" {
		return injectList(cfg, js, tm)
	}
	w, ok := workloads[tm.APIVersion+"/"+tm.Kind]
	if !ok {
		return nil, nil, false, nil
	}
	obj = w.new()
	if err := yaml.UnmarshalStrict(js, obj); err != nil {
		return nil, nil, false, fmt.Errorf("%s %s: %w", tm.Kind, tm.Metadata.Name, err)
	}
	owner := Owner{APIVersion: tm.APIVersion, Kind: tm.Kind, Name: tm.Metadata.Name}
	o := Outcome{Object: objectName(tm)}
	if tm.Kind == "Pod" {
		pod := obj.(*corev1.Pod)
		injected, d, err := Pod(cfg, pod, Owner{})
		o.Decision = d
		if err != nil {
			return nil, nil, false, fmt.Errorf("%s: %w", o.Object, err)
		}
		return injected, []Outcome{o}, d.Inject, nil
	}
	o.Decision, err = injectTemplate(cfg, w.template(obj), tm.Metadata.Namespace, owner)
	if err != nil {
		return nil, nil, false, fmt.Errorf("%s: %w", o.Object, err)
	}
	return obj, []Outcome{o}, o.Decision.Inject, nil
}

// injectList injects the items of a v1 List.
func injectList(cfg *Config, js []byte, tm typeMeta) (any, []Outcome, bool, error) {
	var list map[string]any
	if err := json.Unmarshal(js, &list); err != nil {
		return nil, nil, false, err
	}
	items := make([]any, len(tm.Items))
	var outcomes []Outcome
	changed := false
	for i, raw := range tm.Items {
		obj, outs, c, err := injectObject(cfg, raw)
		if err != nil {
			return nil, nil, false, fmt.Errorf("items[%d]: %w", i, err)
		}
		outcomes, changed = append(outcomes, outs...), changed || c
		if !c {
			obj = json.RawMessage(raw)
		}
		items[i] = obj
	}
	list["items"] = items
	return list, outcomes, changed, nil
}

// injectTemplate injects a workload's pod template in place.
func injectTemplate(cfg *Config, t *corev1.PodTemplateSpec, namespace string, owner Owner) (Decision, error) {
	pod := &corev1.Pod{ObjectMeta: *t.ObjectMeta.DeepCopy(), Spec: t.Spec}
	if pod.Namespace == "" {
		pod.Namespace = namespace
	}
	injected, d, err := Pod(cfg, pod, owner)
	if err != nil || !d.Inject {
		return d, err
	}
	injected.Namespace = t.Namespace
	t.ObjectMeta, t.Spec = injected.ObjectMeta, injected.Spec
	return d, nil
}

func objectName(tm typeMeta) string {
	if tm.Metadata.Namespace == "" {
		return tm.Kind + " " + tm.Metadata.Name
	}
	return tm.Kind + " " + tm.Metadata.Namespace + "/" + tm.Metadata.Name
}

// workload is a kind with a pod template.
type workload struct {
	new      func() any
	template func(any) *corev1.PodTemplateSpec
}

var workloads = map[string]workload{
	"v1/Pod": {func() any { return &corev1.Pod{} }, nil},
	"apps/v1/Deployment": {func() any { return &appsv1.Deployment{} },
		func(o any) *corev1.PodTemplateSpec { return &o.(*appsv1.Deployment).Spec.Template }},
	"apps/v1/StatefulSet": {func() any { return &appsv1.StatefulSet{} },
		func(o any) *corev1.PodTemplateSpec { return &o.(*appsv1.StatefulSet).Spec.Template }},
	"apps/v1/DaemonSet": {func() any { return &appsv1.DaemonSet{} },
		func(o any) *corev1.PodTemplateSpec { return &o.(*appsv1.DaemonSet).Spec.Template }},
	"apps/v1/ReplicaSet": {func() any { return &appsv1.ReplicaSet{} },
		func(o any) *corev1.PodTemplateSpec { return &o.(*appsv1.ReplicaSet).Spec.Template }},
	"batch/v1/Job": {func() any { return &batchv1.Job{} },
		func(o any) *corev1.PodTemplateSpec { return &o.(*batchv1.Job).Spec.Template }},
	"batch/v1/CronJob": {func() any { return &batchv1.CronJob{} },
		func(o any) *corev1.PodTemplateSpec { return &o.(*batchv1.CronJob).Spec.JobTemplate.Spec.Template }},
}

// String describes an outcome for a person.
func (o Outcome) String() string {
	verb := "injected"
	if !o.Decision.Inject {
		verb = "skipped"
	}
	return strings.TrimSpace(fmt.Sprintf("%s: %s (%s)", o.Object, verb, o.Decision.Reason))
}
