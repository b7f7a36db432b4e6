package xdsgen

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/weftmesh/weft/internal/control/mesh"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// generated is everything one node gets, as written to a golden file.
type generated struct {
	Listeners []json.RawMessage `json:"listeners"`
	Routes    []json.RawMessage `json:"routes"`
	Clusters  []json.RawMessage `json:"clusters"`
	Endpoints []json.RawMessage `json:"endpoints"`
}

// generateAll runs every generator for the node, failing the test on an error.
func generateAll(t testing.TB, o Options, node *mesh.Node, snap *mesh.Snapshot) map[string][]Resource {
	t.Helper()
	out := map[string][]Resource{}
	for _, typ := range []string{ListenerType, RouteType, ClusterType, EndpointType} {
		rs, err := o.Generate(node, snap, typ)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		out[typ] = rs
	}
	return out
}

// canonical renders a resource as indented JSON with sorted keys: protojson's own
// output varies its spacing on purpose, so it is re-encoded.
func canonical(t testing.TB, r Resource) json.RawMessage {
	t.Helper()
	b, err := protojson.Marshal(r.Message)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func render(t testing.TB, all map[string][]Resource) []byte {
	t.Helper()
	var g generated
	for typ, dst := range map[string]*[]json.RawMessage{ListenerType: &g.Listeners, RouteType: &g.Routes, ClusterType: &g.Clusters, EndpointType: &g.Endpoints} {
		*dst = []json.RawMessage{}
		for _, r := range all[typ] {
			*dst = append(*dst, canonical(t, r))
		}
	}
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// goldenCase is one representative configuration and the node it is generated for.
type goldenCase struct {
	name  string
	world func(t testing.TB) *world
	node  func() *mesh.Node
	opts  Options
}

var goldenCases = []goldenCase{
	{"sidecar_default", bookinfo, productpage, Options{}},
	{"sidecar_all_v1", func(t testing.TB) *world {
		return bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "virtual-service-all-v1.yaml")
	}, productpage, Options{}},
	{"sidecar_reviews_v2_v3", func(t testing.TB) *world {
		return bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "virtual-service-reviews-v2-v3.yaml")
	}, productpage, Options{}},
	{"sidecar_jason", func(t testing.TB) *world {
		return bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "virtual-service-reviews-jason-v2-v3.yaml")
	}, productpage, Options{}},
	{"sidecar_fault", func(t testing.TB) *world {
		return bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "fault-injection-details-v1.yaml").
			file("default", "virtual-service-ratings-test-delay.yaml")
	}, productpage, Options{}},
	{"sidecar_resilience", resilienceWorld, productpage, Options{}},
	{"sidecar_egress_tcp", egressWorld, productpage, Options{}},
	{"sidecar_inline_routes", bookinfo, productpage, Options{InlineRoutes: true}},
	{"sidecar_no_capture", func(t testing.TB) *world {
		return bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "virtual-service-reviews-jason-v2-v3.yaml")
	}, noCapture, Options{}},
	{"gateway_bookinfo", func(t testing.TB) *world {
		return bookinfo(t).file("default", "bookinfo-gateway.yaml")
	}, ingress, Options{}},
	{"gateway_tls", gatewayTLSWorld, ingress, Options{}},
	{"proxyless_grpc", func(t testing.TB) *world {
		return bookinfo(t).file("default", "destination-rule-all.yaml").file("default", "virtual-service-reviews-90-10.yaml")
	}, grpcClient, Options{}},
}

// TestGolden compares what each representative configuration generates with
// testdata/<case>.json; go test -update rewrites the files.
func TestGolden(t *testing.T) {
	for _, tc := range goldenCases {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, generateAll(t, tc.opts, tc.node(), tc.world(t).snap))
			path := filepath.Join("testdata", tc.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if diff := cmp.Diff(string(want), string(got)); diff != "" {
				t.Errorf("%s differs (-want +got; go test -update refreshes it):\n%s", path, diff)
			}
		})
	}
}

// TestDeterministic: generating twice gives the same bytes.
func TestDeterministic(t *testing.T) {
	for _, tc := range goldenCases {
		a := render(t, generateAll(t, tc.opts, tc.node(), tc.world(t).snap))
		b := render(t, generateAll(t, tc.opts, tc.node(), tc.world(t).snap))
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two generations differ", tc.name)
		}
	}
}
