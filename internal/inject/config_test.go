package inject

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestLoadConfig(t *testing.T) {
	c, err := LoadConfig([]byte(`
image: registry.example/weft:1.0
policy: disabled
defaultConfig:
  discoveryAddress: weft.weft-system.svc:15010
  concurrency: 4
proxy:
  resources: {requests: {cpu: 50m}}
  excludeIPRanges: 169.254.169.254/32
`))
	if err == nil {
		err = c.Validate()
	}
	if err != nil {
		t.Fatal(err)
	}
	if c.Image != "registry.example/weft:1.0" || c.Policy != PolicyDisabled || *c.DefaultConfig.Concurrency != 4 ||
		c.DefaultConfig.DiscoveryAddress != "weft.weft-system.svc:15010" || c.DefaultConfig.TerminationDrainDuration != "5s" {
		t.Errorf("LoadConfig = %+v", c)
	}
	if got := c.Proxy.Resources.Requests.Cpu().String() + "/" + c.Proxy.Resources.Requests.Memory().String(); got != "50m/128Mi" {
		t.Errorf("requests %s, want 50m/128Mi (memory kept from the defaults)", got)
	}
	for _, tc := range []struct{ in, want string }{
		{"image: x\nimage_pull: Always", `unknown field "image_pull"`},
		{"policy: enabled", "image is required"},
		{"image: x\npolicy: sometimes", `policy "sometimes"`},
		{"image: x\ndefaultConfig: {discoveryAddress: istiod}", "defaultConfig.discoveryAddress"},
		{"image: x\ndefaultConfig: {interceptionMode: TPROXY}", "defaultConfig.interceptionMode"},
		{"image: x\nproxy: {includeInboundPorts: all}", "proxy.includeInboundPorts"},
		{"image: x\nproxy: {logLevel: chatty}", "proxy.logLevel"},
	} {
		c, err := LoadConfig([]byte(tc.in))
		if err == nil {
			err = c.Validate()
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadConfig(%q) = %v, want an error with %q", tc.in, err, tc.want)
		}
	}
}

func TestParseProxyConfig(t *testing.T) {
	pc, err := ParseProxyConfig(`{concurrency: 6, proxyMetadata: {A: b}, holdApplicationUntilProxyStarts: true}`)
	if err != nil {
		t.Fatal(err)
	}
	want := ProxyConfig{Concurrency: ptr(int32(6)), ProxyMetadata: map[string]string{"A": "b"},
		HoldApplicationUntilProxyStarts: ptr(true)}
	if d := cmp.Diff(want, pc); d != "" {
		t.Errorf("ParseProxyConfig (-want +got):\n%s", d)
	}
	merged := testConfig().DefaultConfig.merge(pc)
	if *merged.Concurrency != 6 || merged.DiscoveryAddress != "istiod.istio-system.svc:15012" || *merged.StatusPort != 15020 {
		t.Errorf("merge = %+v", merged)
	}
	for _, tc := range []struct{ in, want string }{
		{"concurrency: 0", ""},
		{"[1, 2]", "want a ProxyConfig object"},
		{"proxyStatsMatcher: {}", `field "proxyStatsMatcher" is not supported by weft`},
		{"concurrency: many", "cannot unmarshal"},
		{"terminationDrainDuration: soon", "terminationDrainDuration"},
		{"statusPort: 99999", "statusPort 99999 out of range"},
	} {
		_, err := ParseProxyConfig(tc.in)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)) {
			t.Errorf("ParseProxyConfig(%q) = %v, want %q", tc.in, err, tc.want)
		}
	}
}
