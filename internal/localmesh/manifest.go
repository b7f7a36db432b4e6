package localmesh

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

// Object is one Kubernetes object of a manifest, read as far as the local mesh needs.
type Object struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Metadata   Metadata `json:"metadata"`
	// Source is "file#document".
	Source string `json:"-"`
}

// Metadata is an object's metadata.
type Metadata struct {
	Name        string            `json:"name"`
	Namespace   string            `json:"namespace,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Annotations map[string]string `json:"annotations,omitempty"`
}

// Service is a Kubernetes Service.
type Service struct {
	Object
	Spec struct {
		Ports     []ServicePort     `json:"ports"`
		Selector  map[string]string `json:"selector"`
		ClusterIP string            `json:"clusterIP"`
		Type      string            `json:"type"`
	} `json:"spec"`
}

// ServicePort is one port of a Service.
type ServicePort struct {
	Name        string `json:"name"`
	Port        uint32 `json:"port"`
	TargetPort  any    `json:"targetPort"`
	Protocol    string `json:"protocol"`
	AppProtocol string `json:"appProtocol"`
}

// PodSpec is the part of a pod template the local mesh runs.
type PodSpec struct {
	ServiceAccountName string      `json:"serviceAccountName"`
	Containers         []Container `json:"containers"`
}

// Container is one container: its image chooses the demo app, or its command runs as
// a local process.
type Container struct {
	Name    string   `json:"name"`
	Image   string   `json:"image"`
	Command []string `json:"command"`
	Args    []string `json:"args"`
	Env     []struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	} `json:"env"`
	Ports []struct {
		Name          string `json:"name"`
		ContainerPort uint32 `json:"containerPort"`
	} `json:"ports"`
}

// Deployment is a Kubernetes Deployment.
type Deployment struct {
	Object
	Spec struct {
		Replicas *int `json:"replicas"`
		Template struct {
			Metadata Metadata `json:"metadata"`
			Spec     PodSpec  `json:"spec"`
		} `json:"template"`
	} `json:"spec"`
}

// Pod is a Kubernetes Pod given as such.
type Pod struct {
	Object
	Spec PodSpec `json:"spec"`
}

// Manifests is what a set of YAML files holds: Kubernetes objects for the local mesh to
// run, and the Istio config (left to the control plane's config store).
type Manifests struct {
	Namespaces      []string
	ServiceAccounts []Object
	Services        []Service
	Deployments     []Deployment
	Pods            []Pod
	// IstioFiles lists the files holding Istio config (*.istio.io kinds).
	IstioFiles []string
}

// Load reads every YAML file under the paths (files or directories, recursively).
func Load(paths []string, defaultNamespace string) (*Manifests, error) {
	m := &Manifests{}
	for _, p := range paths {
		files, err := yamlFiles(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if err := m.loadFile(f, defaultNamespace); err != nil {
				return nil, err
			}
		}
	}
	sort.Strings(m.Namespaces)
	return m, nil
}

func yamlFiles(root string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		ext := strings.ToLower(filepath.Ext(path))
		if !d.IsDir() && (ext == ".yaml" || ext == ".yml" || ext == ".json") {
			out = append(out, path)
		}
		return nil
	})
	sort.Strings(out)
	return out, err
}

// loadFile reads one file's documents.
func (m *Manifests) loadFile(path, ns string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	istio := false
	for i, doc := range splitDocuments(data) {
		var o Object
		if err := yaml.Unmarshal(doc, &o); err != nil {
			return fmt.Errorf("%s#%d: %w", path, i, err)
		}
		if o.Kind == "" {
			continue
		}
		o.Source = fmt.Sprintf("%s#%d", path, i)
		if o.Metadata.Namespace == "" {
			o.Metadata.Namespace = ns
		}
		if strings.Contains(o.APIVersion, "istio.io/") {
			istio = true
			continue
		}
		if err := m.add(o, doc); err != nil {
			return fmt.Errorf("%s: %w", o.Source, err)
		}
	}
	if istio {
		m.IstioFiles = append(m.IstioFiles, path)
	}
	return nil
}

// add decodes an object of a kind the local mesh runs; other kinds are ignored.
func (m *Manifests) add(o Object, doc []byte) error {
	var err error
	switch o.Kind {
	case "Namespace":
		m.Namespaces = appendUnique(m.Namespaces, o.Metadata.Name)
	case "ServiceAccount":
		m.ServiceAccounts = append(m.ServiceAccounts, o)
	case "Service":
		var s Service
		if err = yaml.Unmarshal(doc, &s); err == nil {
			s.Object = o
			m.Services = append(m.Services, s)
		}
	case "Deployment":
		var d Deployment
		if err = yaml.Unmarshal(doc, &d); err == nil {
			d.Object = o
			m.Deployments = append(m.Deployments, d)
		}
	case "Pod":
		var p Pod
		if err = yaml.Unmarshal(doc, &p); err == nil {
			p.Object = o
			m.Pods = append(m.Pods, p)
		}
	}
	if o.Kind != "Namespace" {
		m.Namespaces = appendUnique(m.Namespaces, o.Metadata.Namespace)
	}
	return err
}

func appendUnique(list []string, s string) []string {
	for _, v := range list {
		if v == s {
			return list
		}
	}
	return append(list, s)
}

// splitDocuments splits a multi-document YAML stream.
func splitDocuments(data []byte) [][]byte {
	var out [][]byte
	for _, part := range bytes.Split(append([]byte("\n"), data...), []byte("\n---")) {
		if len(bytes.TrimSpace(part)) > 0 {
			out = append(out, part)
		}
	}
	return out
}
