package mesh_test

import (
	"testing"

	"github.com/weftmesh/weft/internal/control/mesh"
)

func TestHostMatches(t *testing.T) {
	tests := []struct {
		a, b          string
		match, subset bool // subset: HostSubsetOf(a, b)
	}{
		{"a.example.com", "a.example.com", true, true},
		{"a.example.com", "b.example.com", false, false},
		{"a.example.com", "*.example.com", true, true},
		{"*.example.com", "a.example.com", true, false},
		{"a.b.example.com", "*.example.com", true, true},
		{"example.com", "*.example.com", false, false},
		{"*.a.example.com", "*.example.com", true, true},
		{"*.example.com", "*.a.example.com", true, false},
		{"anything", "*", true, true},
		{"*", "*.example.com", true, false},
		{"*.example.com", "*", true, true},
		{"*.example.org", "*.example.com", false, false},
	}
	for _, tc := range tests {
		if got := mesh.HostMatches(tc.a, tc.b); got != tc.match {
			t.Errorf("HostMatches(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.match)
		}
		if got := mesh.HostMatches(tc.b, tc.a); got != tc.match {
			t.Errorf("HostMatches(%q, %q) = %v, want %v (symmetric)", tc.b, tc.a, got, tc.match)
		}
		if got := mesh.HostSubsetOf(tc.a, tc.b); got != tc.subset {
			t.Errorf("HostSubsetOf(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.subset)
		}
	}
}

func TestResolveHost(t *testing.T) {
	tests := []struct{ host, ns, suffix, want string }{
		{"reviews", "default", "cluster.local", "reviews.default.svc.cluster.local"},
		{"reviews", "shop", "", "reviews.shop"},
		{"reviews.default", "shop", "cluster.local", "reviews.default"},
		{"*.example.com", "shop", "cluster.local", "*.example.com"},
		{"*", "shop", "cluster.local", "*"},
		{"10.0.0.1", "shop", "cluster.local", "10.0.0.1"},
		{"::1", "shop", "cluster.local", "::1"},
		{"", "shop", "cluster.local", ""},
	}
	for _, tc := range tests {
		if got := mesh.ResolveHost(tc.host, tc.ns, tc.suffix); got != tc.want {
			t.Errorf("ResolveHost(%q, %q, %q) = %q, want %q", tc.host, tc.ns, tc.suffix, got, tc.want)
		}
	}
}

func TestMostSpecificHost(t *testing.T) {
	patterns := []string{"*", "*.example.com", "*.a.example.com", "b.a.example.com"}
	tests := []struct {
		host, want string
		ok         bool
	}{
		{"b.a.example.com", "b.a.example.com", true},
		{"c.a.example.com", "*.a.example.com", true},
		{"c.example.com", "*.example.com", true},
		{"other.org", "*", true},
		{"*.x.a.example.com", "*.a.example.com", true},
	}
	for _, tc := range tests {
		got, ok := mesh.MostSpecificHost(tc.host, patterns)
		if got != tc.want || ok != tc.ok {
			t.Errorf("MostSpecificHost(%q) = %q, %v; want %q, %v", tc.host, got, ok, tc.want, tc.ok)
		}
	}
	if _, ok := mesh.MostSpecificHost("a.example.com", []string{"b.example.com"}); ok {
		t.Error("matched an unrelated host")
	}
}

func TestParseProtocol(t *testing.T) {
	tests := map[string]mesh.Protocol{
		"HTTP": mesh.HTTP, "http": mesh.HTTP, "HTTP2": mesh.HTTP2, "grpc": mesh.GRPC, "GRPC-Web": mesh.GRPCWeb,
		"HTTPS": mesh.HTTPS, "tls": mesh.TLS, "TCP": mesh.TCP, "Mongo": mesh.Mongo, "REDIS": mesh.Redis,
		"mysql": mesh.MySQL, "UDP": mesh.UDP, "": mesh.Unsupported, "smtp": mesh.Unsupported,
	}
	for in, want := range tests {
		if got := mesh.ParseProtocol(in); got != want {
			t.Errorf("ParseProtocol(%q) = %q, want %q", in, got, want)
		}
	}
	if !mesh.HTTPS.IsTLS() || mesh.HTTP.IsTLS() || !mesh.Mongo.IsTCP() || mesh.GRPC.IsTCP() {
		t.Error("protocol classes wrong")
	}
}

func TestSpiffeID(t *testing.T) {
	if got := mesh.SpiffeID("cluster.local", "default", "bookinfo-reviews"); got != "spiffe://cluster.local/ns/default/sa/bookinfo-reviews" {
		t.Errorf("SpiffeID = %q", got)
	}
	if got := mesh.SpiffeID("td@corp", "ns", "sa"); got != "spiffe://td.corp/ns/ns/sa/sa" {
		t.Errorf("SpiffeID = %q", got)
	}
}

func TestVisible(t *testing.T) {
	tests := []struct {
		exportTo []string
		from     string
		want     bool
	}{
		{nil, "other", true},
		{[]string{"*"}, "other", true},
		{[]string{"."}, "shop", true},
		{[]string{"."}, "other", false},
		{[]string{"other"}, "other", true},
		{[]string{"other"}, "shop", false},
		{[]string{"~"}, "shop", false},
		{[]string{".", "ops"}, "ops", true},
	}
	for _, tc := range tests {
		svc := &mesh.Service{Hostname: "a", Namespace: "shop", ExportTo: tc.exportTo}
		if got := mesh.Visible(svc, tc.from); got != tc.want {
			t.Errorf("Visible(exportTo %v, from %q) = %v, want %v", tc.exportTo, tc.from, got, tc.want)
		}
	}
}
