package cli

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRoot(&out, &out)
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

func TestVersion(t *testing.T) {
	out, err := run(t, "version")
	if err != nil || !strings.HasPrefix(out, "weft "+Version+" (go") {
		t.Errorf("version: %q, %v", out, err)
	}
}

// TestProxyRejectsUnsupportedConfig: weft proxy refuses config it does not implement,
// naming the field path and type URL, before it binds anything.
func TestProxyRejectsUnsupportedConfig(t *testing.T) {
	cfg := `static_resources:
  clusters:
  - name: c
    type: STATIC
    upstream_connection_options: {tcp_keepalive: {keepalive_time: 30}}`
	_, err := run(t, "proxy", "--config-yaml", cfg)
	want := "static_resources.clusters[0].upstream_connection_options: field not supported by weft (type.googleapis.com/envoy.config.cluster.v3.Cluster)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
	_, err = run(t, "proxy", "--config-yaml", "static_resources: {clusters: [{name: c, type: STATIC, connect_timeout: -1s}]}")
	if err == nil || !strings.Contains(err.Error(), "ConnectTimeout") {
		t.Errorf("invalid value: err = %v, want the generated validation's error", err)
	}
	_, err = run(t, "proxy")
	if err == nil || !strings.Contains(err.Error(), "--config-path") {
		t.Errorf("no config: err = %v", err)
	}
}
