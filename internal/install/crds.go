package install

import (
	"bufio"
	"bytes"
	_ "embed"
	"fmt"
	"io"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

//go:generate go run gencrds.go

// crdsYAML is Istio's CRDs, copied from the istio.io/api module by gencrds.go.
//
//go:embed crds.gen.yaml
var crdsYAML []byte

// CRDs returns Istio's CustomResourceDefinitions (networking, security, telemetry
// and extensions), as the istio.io/api version in weft's go.mod defines them.
func CRDs() ([]*unstructured.Unstructured, error) {
	r := yaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(crdsYAML)))
	var objs []*unstructured.Unstructured
	for i := 0; ; i++ {
		doc, err := r.Read()
		if err == io.EOF {
			return objs, nil
		}
		if err != nil {
			return nil, fmt.Errorf("istio CRDs, document %d: %w", i, err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(doc, &obj.Object); err != nil {
			return nil, fmt.Errorf("istio CRDs, document %d: %w", i, err)
		}
		if len(obj.Object) > 0 {
			objs = append(objs, obj)
		}
	}
}
