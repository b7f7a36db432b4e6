package route

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const domainsConfig = `
virtual_hosts:
- {name: exact, domains: [example.com, "Mixed.Example.ORG"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: exact-port, domains: ["example.com:8080"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: suffix, domains: ["*.example.com"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: longer-suffix, domains: ["*-bar.example.com"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: bare-suffix, domains: ["*ample.net"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: prefix, domains: ["foo.*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: longer-prefix, domains: ["foo.bar.*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: v6, domains: ["[::1]:80", "[::1]"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: default, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}
`

func TestVirtualHostSelection(t *testing.T) {
	tbl := mustTable(t, domainsConfig)
	ignorePort := mustTable(t, "ignore_port_in_host_matching: true\n"+domainsConfig)
	tests := []struct {
		host, want, wantIgnorePort string
	}{
		{"example.com", "exact", "exact"},
		{"EXAMPLE.com", "exact", "exact"},
		{"mixed.example.org", "exact", "exact"},
		{"example.com:8080", "exact-port", "exact"},
		{"example.com:9090", "default", "exact"},
		{"a.example.com", "suffix", "suffix"},
		{"a.b.example.com", "suffix", "suffix"},
		{".example.com", "default", "default"}, // the wildcard must match at least one character
		{"foo-bar.example.com", "longer-suffix", "longer-suffix"},
		{"a.example.com:8080", "default", "suffix"},
		{"example.net", "bare-suffix", "bare-suffix"},
		{"ample.net", "default", "default"},
		{"foo.com", "prefix", "prefix"},
		{"foo.bar.com", "longer-prefix", "longer-prefix"},
		{"foo.", "default", "default"},
		{"x.example.com.evil", "default", "default"},
		{"[::1]:80", "v6", "v6"},
		{"[::1]", "v6", "v6"},
		{"[::1]:81", "default", "v6"},
		{"other", "default", "default"},
	}
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			got := tbl.VirtualHostFor(request(tt.host, "/")).Name()
			gotIgnore := ignorePort.VirtualHostFor(request(tt.host, "/")).Name()
			if diff := cmp.Diff([]string{tt.want, tt.wantIgnorePort}, []string{got, gotIgnore}); diff != "" {
				t.Errorf("vhost for %q (-want +got, [normal ignore_port]):\n%s", tt.host, diff)
			}
		})
	}
}

func TestVirtualHostNoDefault(t *testing.T) {
	tbl := mustTable(t, `virtual_hosts: [{name: a, domains: [a.com], routes: [{match: {prefix: /}, route: {cluster: c}}]}]`)
	if e := tbl.Match(request("b.com", "/"), nil, 0); e != nil {
		t.Errorf("Match(b.com) = %v, want nil", e.Name())
	}
	h := request("a.com", "/")
	h.Del(":authority")
	if vh := tbl.VirtualHostFor(h); vh != nil {
		t.Errorf("VirtualHostFor without :authority = %q, want nil", vh.Name())
	}
}

func TestVirtualHostOnlyDefaultIgnoresHost(t *testing.T) {
	tbl := mustTable(t, `virtual_hosts: [{name: d, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}}]}]`)
	h := request("x", "/")
	h.Del(":authority")
	if got := tbl.VirtualHostFor(h).Name(); got != "d" {
		t.Errorf("VirtualHostFor = %q, want d", got)
	}
}

func TestVhostHeader(t *testing.T) {
	tbl := mustTable(t, `
vhost_header: X-Route-Host
virtual_hosts:
- {name: a, domains: [a.com], routes: [{match: {prefix: /}, route: {cluster: c}}]}
- {name: b, domains: [b.com], routes: [{match: {prefix: /}, route: {cluster: c}}]}`)
	if got := tbl.VirtualHostFor(request("a.com", "/", "x-route-host", "b.com")).Name(); got != "b" {
		t.Errorf("VirtualHostFor = %q, want b", got)
	}
}

func TestDomainErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"duplicate exact", `virtual_hosts: [{name: a, domains: [a.com], routes: []}, {name: b, domains: [A.com], routes: []}]`,
			`virtual_hosts[1].domains: domain "a.com" appears more than once`},
		{"two defaults", `virtual_hosts: [{name: a, domains: ["*"]}, {name: b, domains: ["*"]}]`,
			`virtual_hosts[1].domains: domain "*" appears more than once`},
		{"duplicate suffix", `virtual_hosts: [{name: a, domains: ["*.a.com", "*.a.com"]}]`,
			`virtual_hosts[0].domains: domain "*.a.com" appears more than once`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(parseConfig(t, tt.yaml), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
