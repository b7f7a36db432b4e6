package routecheck

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// fixtureDir finds Envoy's router check fixtures, ../shared/conformance/envoy-router-check
// from the repository root, by walking up from the test's working directory.
func fixtureDir(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		candidate := filepath.Join(dir, "..", "shared", "conformance", "envoy-router-check")
		if st, err := os.Stat(candidate); err == nil && st.IsDir() {
			return candidate
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("conformance fixtures not found: ../shared/conformance/envoy-router-check above the working directory")
		}
		dir = parent
	}
}

// run runs the tool on a config and test file from the fixtures and returns the error,
// stdout and stderr.
func run(t *testing.T, config, tests string, opts Options) (error, string, string) {
	t.Helper()
	dir := fixtureDir(t)
	var stdout, stderr bytes.Buffer
	err := Run(filepath.Join(dir, config), filepath.Join(dir, tests), opts, &stdout, &stderr)
	if err != nil && !errors.Is(err, ErrFailed) {
		t.Fatalf("%s with %s: %v", tests, config, err)
	}
	return err, stdout.String(), stderr.String()
}

// results runs a pair and returns the per-test results.
func results(t *testing.T, config, tests string) []Result {
	t.Helper()
	dir := fixtureDir(t)
	rc, err := LoadRouteConfig(filepath.Join(dir, config))
	if err != nil {
		t.Fatal(err)
	}
	v, err := LoadTests(filepath.Join(dir, tests))
	if err != nil {
		t.Fatal(err)
	}
	c, err := NewChecker(rc)
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Run(v)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

var pairs = []string{
	"ClusterHeader", "ComprehensiveRoutes", "ContentType", "DetailedCoverage", "DirectResponse",
	"DynamicMetadata", "HeaderMatchedRouting", "Redirect", "Redirect2", "Redirect3", "Redirect4",
	"Runtime", "TestRoutes", "Weighted",
}

func TestConformanceAllPass(t *testing.T) {
	for _, name := range pairs {
		t.Run(name, func(t *testing.T) {
			err, stdout, stderr := run(t, name+".yaml", name+".golden.proto.json", Options{Details: true})
			if err != nil {
				t.Fatalf("%v\nstdout:\n%s\nstderr:\n%s", err, stdout, stderr)
			}
			if !strings.Contains(stdout, "Current route coverage: ") {
				t.Errorf("no coverage line in:\n%s", stdout)
			}
		})
	}
}

func TestConformancePassCounts(t *testing.T) {
	for name, want := range map[string]int{"TestRoutes": 33, "DynamicMetadata": 10} {
		passed := 0
		for _, r := range results(t, name+".yaml", name+".golden.proto.json") {
			if r.Passed() {
				passed++
			}
		}
		if passed != want {
			t.Errorf("%s: %d passing results, want %d", name, passed, want)
		}
	}
}

func TestConformanceWeightedAgainstTestRoutes(t *testing.T) {
	err, stdout, stderr := run(t, "TestRoutes.yaml", "Weighted.golden.proto.json", Options{Details: true})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want a failure", err)
	}
	out := stdout + stderr
	for _, s := range []string{"Test_1", "Test_2", "Test_3",
		"expected: [cluster1], actual: [instant-server], test type: cluster_name",
		"expected: [test_virtual_cluster], actual: [other], test type: virtual_cluster_name"} {
		if !strings.Contains(out, s) {
			t.Errorf("output lacks %q:\n%s", s, out)
		}
	}
	i := strings.Index(stderr, "Test_2\nexpected: [cluster1], actual: [instant-server], test type: cluster_name\n"+
		"expected: [test_virtual_cluster], actual: [other], test type: virtual_cluster_name\n")
	if i < 0 {
		t.Errorf("stderr does not list Test_2's two failures in order:\n%s", stderr)
	}
	for _, opts := range []Options{{Details: true, OnlyShowFailures: true}, {OnlyShowFailures: true}} {
		_, stdout, stderr := run(t, "TestRoutes.yaml", "Weighted.golden.proto.json", opts)
		out := stdout + stderr
		if !strings.Contains(out, "Test_2\nexpected: [cluster1], actual: [instant-server], test type: cluster_name") ||
			strings.Contains(out, "Test_1") {
			t.Errorf("%+v: output:\n%s", opts, out)
		}
	}
}

func TestConformanceTestRoutesFailures(t *testing.T) {
	err, stdout, stderr := run(t, "TestRoutes.yaml", "TestRoutesFailures.golden.proto.json", Options{OnlyShowFailures: true})
	if !errors.Is(err, ErrFailed) {
		t.Fatalf("err = %v, want a failure", err)
	}
	want := []string{
		"ResponseHeaderMatches Failures",
		"expected: [content-type: text/plain], actual: NOT [content-type: text/plain], test type: response_header_matches.string_match.exact",
		"actual: [content-length: 25], test type: response_header_matches.range_match",
		"expected: [x-ping-response: pong], actual: [x-ping-response: yes], test type: response_header_matches.string_match.exact",
		"expected: [has(x-ping-response):false], actual: [has(x-ping-response):true], test type: response_header_matches.present_match",
		"expected: [has(x-pong-response):true], actual: [has(x-pong-response):false], test type: response_header_matches.present_match",
	}
	if diff := cmp.Diff(want, strings.Split(strings.TrimSpace(stderr), "\n")); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if stdout != "" {
		t.Errorf("stdout = %q, want nothing", stdout)
	}
}

func TestConformanceCoverage(t *testing.T) {
	err, stdout, _ := run(t, "Redirect.yaml", "Redirect.golden.proto.json", Options{Details: true, FailUnder: 1.0})
	if err != nil || !strings.Contains(stdout, "Current route coverage: ") {
		t.Errorf("Redirect -f 1.0: err %v, stdout:\n%s", err, stdout)
	}
	err, _, stderr := run(t, "Redirect.yaml", "Redirect.golden.proto.json", Options{Details: true, FailUnder: 100})
	if !errors.Is(err, ErrFailed) || !strings.Contains(stderr, "Failed to meet coverage requirement: 100%") {
		t.Errorf("Redirect -f 100: err %v, stderr:\n%s", err, stderr)
	}
	for _, name := range []string{"ComprehensiveRoutes", "DirectResponse", "Runtime"} {
		err, stdout, _ := run(t, name+".yaml", name+".golden.proto.json", Options{Details: true, CovAll: true, FailUnder: 100})
		if err != nil || !strings.Contains(stdout, "Current route coverage: 100%") {
			t.Errorf("%s --covall: err %v, stdout:\n%s", name, err, stdout)
		}
	}
	_, stdout, _ = run(t, "Weighted.yaml", "Weighted.golden.proto.json", Options{})
	if !strings.Contains(stdout, "Current route coverage: 100%") {
		t.Errorf("Weighted: stdout:\n%s", stdout)
	}
}

func TestConformanceMissingTests(t *testing.T) {
	_, stdout, _ := run(t, "TestRoutes.yaml", "TestRoutes.golden.proto.json", Options{Details: true, CovAll: true})
	re := regexp.MustCompile(`(?s)Missing test for host: www2_staging, route: prefix: "/"\n.*` +
		`Missing test for host: default, route: prefix: "/api/application_data"\n`)
	if !re.MatchString(stdout) {
		t.Errorf("TestRoutes --covall: stdout:\n%s", stdout)
	}
	_, stdout, _ = run(t, "DetailedCoverage.yaml", "DetailedCoverage.golden.proto.json", Options{DetailedCoverage: true})
	for _, re := range []string{`Missing test for host: localhost, route name: new_endpoint2-.+`,
		`Missing test for host: localhost, route name: -.+`} {
		if !regexp.MustCompile(re).MatchString(stdout) {
			t.Errorf("DetailedCoverage: %s not in stdout:\n%s", re, stdout)
		}
	}
	_, stdout, _ = run(t, "DetailedCoverage.yaml", "DetailedCoverage.golden.proto.json", Options{})
	if strings.Contains(stdout, "Missing test for host:") {
		t.Errorf("DetailedCoverage without the flag lists missing tests:\n%s", stdout)
	}
}
