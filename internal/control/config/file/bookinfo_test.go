package file_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"
	networking "istio.io/api/networking/v1alpha3"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
)

// bookinfoDir finds ../shared/conformance/istio-bookinfo-networking by walking up from
// the test's working directory, and fails the test if it is missing.
func bookinfoDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		candidate := filepath.Join(dir, "..", "shared", "conformance", "istio-bookinfo-networking")
		if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("../shared/conformance/istio-bookinfo-networking not found above the working directory")
		}
		dir = parent
	}
}

// TestBookinfoSamples loads every bookinfo networking sample, each on its own as the
// Bookinfo tasks apply them, and expects every document to be accepted.
func TestBookinfoSamples(t *testing.T) {
	src := bookinfoDir(t)
	files, err := filepath.Glob(filepath.Join(src, "*.yaml"))
	if err != nil || len(files) < 21 {
		t.Fatalf("want the 21 bookinfo samples in %s, found %d (%v)", src, len(files), err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, filepath.Base(f)), data, 0o644); err != nil {
				t.Fatal(err)
			}
			s := file.New(dir)
			if err := s.Reload(); err != nil {
				t.Fatal(err)
			}
			for _, e := range s.Errors() {
				t.Errorf("rejected: %v", e)
			}
			docs := file.ParseFile(f, data, "default")
			total := 0
			for _, k := range config.Kinds() {
				total += len(s.List(k))
			}
			if total != len(docs) || total == 0 {
				t.Errorf("store holds %d objects, file has %d documents", total, len(docs))
			}
		})
	}
}

// TestBookinfoDirectory loads the whole directory at once: the samples are
// alternatives for the same objects, so the only errors are duplicate definitions.
func TestBookinfoDirectory(t *testing.T) {
	s := file.New(bookinfoDir(t))
	if err := s.Reload(); err != nil {
		t.Fatal(err)
	}
	for _, e := range s.Errors() {
		if len(e.Fields) != 1 || !strings.HasPrefix(e.Fields[0].Reason, "already defined in ") {
			t.Errorf("unexpected error: %v", e)
		}
	}
	got := map[config.Kind]int{}
	for _, k := range config.Kinds() {
		got[k] = len(s.List(k))
	}
	want := map[config.Kind]int{config.VirtualService: 7, config.DestinationRule: 5, config.Gateway: 2, config.ServiceEntry: 1}
	for _, k := range config.Kinds() {
		if got[k] != want[k] {
			t.Errorf("%s: %d objects, want %d", k, got[k], want[k])
		}
	}
}

// TestBookinfoSpecs checks that specs are decoded field by field, camelCase names and
// Istio's duration syntax included.
func TestBookinfoSpecs(t *testing.T) {
	dir := bookinfoDir(t)
	tests := []struct {
		file string
		doc  int
		want *config.Config
	}{
		{"virtual-service-reviews-80-20.yaml", 0, &config.Config{Kind: config.VirtualService, Name: "reviews", Namespace: "default",
			Spec: &networking.VirtualService{Hosts: []string{"reviews"}, Http: []*networking.HTTPRoute{{Route: []*networking.HTTPRouteDestination{
				{Destination: &networking.Destination{Host: "reviews", Subset: "v1"}, Weight: 80},
				{Destination: &networking.Destination{Host: "reviews", Subset: "v2"}, Weight: 20},
			}}}}}},
		{"virtual-service-ratings-test-delay.yaml", 0, &config.Config{Kind: config.VirtualService, Name: "ratings", Namespace: "default",
			Spec: &networking.VirtualService{Hosts: []string{"ratings"}, Http: []*networking.HTTPRoute{
				{
					Match: []*networking.HTTPMatchRequest{{Headers: map[string]*networking.StringMatch{
						"end-user": {MatchType: &networking.StringMatch_Exact{Exact: "jason"}}}}},
					Fault: &networking.HTTPFaultInjection{Delay: &networking.HTTPFaultInjection_Delay{
						Percentage:    &networking.Percent{Value: 100},
						HttpDelayType: &networking.HTTPFaultInjection_Delay_FixedDelay{FixedDelay: durationpb.New(7e9)}}},
					Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "ratings", Subset: "v1"}}},
				},
				{Route: []*networking.HTTPRouteDestination{{Destination: &networking.Destination{Host: "ratings", Subset: "v1"}}}},
			}}}},
		{"egress-rule-google-apis.yaml", 2, &config.Config{Kind: config.DestinationRule, Name: "originate-tls-for-googleapis", Namespace: "default",
			Spec: &networking.DestinationRule{Host: "www.googleapis.com", TrafficPolicy: &networking.TrafficPolicy{
				LoadBalancer: &networking.LoadBalancerSettings{LbPolicy: &networking.LoadBalancerSettings_Simple{
					Simple: networking.LoadBalancerSettings_ROUND_ROBIN}},
				PortLevelSettings: []*networking.TrafficPolicy_PortTrafficPolicy{{
					Port: &networking.PortSelector{Number: 443},
					Tls:  &networking.ClientTLSSettings{Mode: networking.ClientTLSSettings_SIMPLE}}},
			}}}},
		{"certmanager-gateway.yaml", 0, &config.Config{Kind: config.Gateway, Name: "cert-manager-gateway", Namespace: "istio-system",
			Spec: &networking.Gateway{Selector: map[string]string{"istio": "ingressgateway"}, Servers: []*networking.Server{{
				Port: &networking.Port{Number: 80, Name: "http", Protocol: "HTTP"}, Hosts: []string{"*"}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			docs := file.ParseFile(tc.file, data, "default")
			if tc.doc >= len(docs) || docs[tc.doc].Config == nil {
				t.Fatalf("document %d missing or rejected: %+v", tc.doc, docs)
			}
			got := docs[tc.doc].Config
			opts := cmp.Options{protocmp.Transform(),
				protocmp.IgnoreEmptyMessages(), cmp.FilterPath(func(p cmp.Path) bool {
					switch p.Last().String() {
					case ".ResourceVersion", ".Source", ".CreationTime":
						return true
					}
					return false
				}, cmp.Ignore())}
			if diff := cmp.Diff(tc.want, got, opts); diff != "" {
				t.Errorf("config differs (-want +got):\n%s", diff)
			}
		})
	}
}
