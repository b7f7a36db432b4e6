package cli

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", name, diff)
	}
}

func TestProxyStatusGolden(t *testing.T) {
	out, err := run(t, "proxy-status", "--control", fakeControl(t))
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "proxy_status.golden", out)
}

func TestProxyConfigGolden(t *testing.T) {
	control := fakeControl(t)
	for _, tc := range []struct{ args, file string }{
		{"clusters reviews-v1-1.default", "proxy_config_clusters.golden"},
		{"listeners reviews-v1-1.default", "proxy_config_listeners.golden"},
		{"routes reviews-v1-1.default", "proxy_config_routes.golden"},
		{"endpoints reviews-v1-1.default", "proxy_config_endpoints.golden"},
		{"all reviews-v1-1.default", "proxy_config_all.golden"},
		{"clusters reviews-v1-1.default -o json", "proxy_config_clusters_json.golden"},
		{"routes reviews-v1-1.default -o yaml", "proxy_config_routes_yaml.golden"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			args := append([]string{"proxy-config"}, strings.Fields(tc.args)...)
			out, err := run(t, append(args, "--control", control)...)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, tc.file, out)
		})
	}
}

// TestProxyConfigJSONIsAllSections: -o json of "all" is the whole dump, valid JSON.
func TestProxyConfigJSONIsAllSections(t *testing.T) {
	out, err := run(t, "proxy-config", "all", "reviews-v1-1.default", "-o", "json", "--control", fakeControl(t))
	if err != nil {
		t.Fatal(err)
	}
	var dump struct {
		Configs []map[string]any `json:"configs"`
	}
	if err := json.Unmarshal([]byte(out), &dump); err != nil || len(dump.Configs) != 4 {
		t.Errorf("sections = %d, err = %v", len(dump.Configs), err)
	}
}

func TestProxyConfigErrors(t *testing.T) {
	control := fakeControl(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"proxy-config", "clusters", "nobody.default", "--control", control}, `404 Not Found: node "nobody.default" is not connected`},
		{[]string{"proxy-config", "clusters", "reviews-v1-1.default", "-o", "xml", "--control", control}, `--output: unknown format "xml" (want table, json or yaml)`},
		{[]string{"proxy-config", "clusters", "--control", control}, "accepts 1 arg(s), received 0"},
		{[]string{"proxy-status", "--control", "127.0.0.1:1"}, "control plane 127.0.0.1:1:"},
	} {
		_, err := run(t, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want %q", tc.args, err, tc.want)
		}
	}
}
