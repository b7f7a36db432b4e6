package file_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
)

// docSummary is what TestParseFile compares for each document.
type docSummary struct {
	Index, Line int
	Key         string // Config
	Source      string
	Other       string // Other: apiVersion/kind namespace/name
	Err         string
}

func summarize(docs []file.Document) []docSummary {
	var out []docSummary
	for _, d := range docs {
		s := docSummary{Index: d.Index, Line: d.Line}
		switch {
		case d.Config != nil:
			s.Key, s.Source = d.Config.Key(), d.Config.Source
		case d.Other != nil:
			s.Other, s.Source = d.Other.APIVersion+"/"+d.Other.Kind+" "+d.Other.Namespace+"/"+d.Other.Name, d.Other.Source
		case d.Err != nil:
			s.Err = d.Err.Error()
		}
		out = append(out, s)
	}
	return out
}

func TestParseFile(t *testing.T) {
	tests := []struct {
		name string
		data string
		want []docSummary
	}{
		{
			name: "multi-document with empty documents and other kinds",
			data: `---
# leading comment
apiVersion: apps/v1
kind: Deployment
metadata:
  name: reviews-v1
  namespace: shop
spec: {replicas: 1}
---
---
apiVersion: gateway.networking.k8s.io/v1
kind: Gateway
metadata:
  name: kube-gw
spec: {}
---
apiVersion: networking.istio.io/v1beta1
kind: DestinationRule
metadata:
  name: reviews
spec:
  host: reviews
...
apiVersion: networking.istio.io/v1alpha3
kind: DestinationRule
metadata:
  name: bad
spec:
  host: ""
---
`,
			want: []docSummary{
				{Index: 0, Line: 2, Other: "apps/v1/Deployment shop/reviews-v1", Source: "f.yaml#0"},
				{Index: 1, Line: 11, Other: "gateway.networking.k8s.io/v1/Gateway ns/kube-gw", Source: "f.yaml#1"},
				{Index: 2, Line: 17, Key: "DestinationRule/ns/reviews", Source: "f.yaml#2"},
				{Index: 3, Line: 24, Err: "f.yaml#3 (line 24): DestinationRule ns/bad: spec.host: is required"},
			},
		},
		{
			name: "json",
			data: `{"apiVersion": "security.istio.io/v1beta1", "kind": "PeerAuthentication",
 "metadata": {"name": "default", "namespace": "istio-system"}, "spec": {"mtls": {"mode": "STRICT"}}}`,
			want: []docSummary{{Index: 0, Line: 1, Key: "PeerAuthentication/istio-system/default", Source: "f.yaml#0"}},
		},
		{
			name: "document marker with content",
			data: "--- {apiVersion: telemetry.istio.io/v1alpha1, kind: Telemetry, metadata: {name: t}, spec: {}}\n",
			want: []docSummary{{Index: 0, Line: 1, Key: "Telemetry/ns/t", Source: "f.yaml#0"}},
		},
		{name: "only comments", data: "# nothing\n---\n\n", want: nil},
		{
			name: "yaml 1.1 boolean where a string belongs",
			data: "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: s, labels: {enabled: yes}}\nspec: {}\n",
			want: []docSummary{{Index: 0, Line: 1, Err: "f.yaml#0 (line 1): metadata.labels: want string, got bool (quote values such as yes, no, on, off)"}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := summarize(file.ParseFile("f.yaml", []byte(tc.data), "ns"))
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("documents differ (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseFileMetadata checks labels, annotations, creation time and that the
// resource version follows the content, not the layout.
func TestParseFileMetadata(t *testing.T) {
	a := `apiVersion: networking.istio.io/v1
kind: Sidecar
metadata:
  name: default
  labels: {team: a}
  annotations: {note: x}
  creationTimestamp: "2024-05-01T10:00:00Z"
spec:
  egress:
  - hosts: ["./*", "istio-system/*"]
`
	b := "# reformatted\napiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, annotations: {note: x}, labels: {team: a}}\nspec: {egress: [{hosts: [\"./*\", \"istio-system/*\"]}]}\n"
	c := "apiVersion: networking.istio.io/v1\nkind: Sidecar\nmetadata: {name: default, annotations: {note: z}, labels: {team: a}}\nspec: {egress: [{hosts: [\"./*\", \"istio-system/*\"]}]}\n"
	parse := func(s string) *config.Config {
		docs := file.ParseFile("f.yaml", []byte(s), "default")
		if len(docs) != 1 || docs[0].Config == nil {
			t.Fatalf("parse failed: %+v", docs)
		}
		return docs[0].Config
	}
	ca, cb, cc := parse(a), parse(b), parse(c)
	if ca.CreationTime.Format("2006-01-02T15:04:05Z07:00") != "2024-05-01T10:00:00Z" {
		t.Errorf("creation time %v", ca.CreationTime)
	}
	if diff := cmp.Diff(map[string]string{"team": "a"}, ca.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if ca.ResourceVersion != cb.ResourceVersion {
		t.Errorf("same content, different versions %q and %q", ca.ResourceVersion, cb.ResourceVersion)
	}
	if ca.ResourceVersion == cc.ResourceVersion {
		t.Errorf("changed annotation, same version %q", ca.ResourceVersion)
	}
}
