package inject

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/weftmesh/weft/internal/proxy/probe"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func testConfig() *Config {
	c := DefaultConfig()
	c.Image = "ghcr.io/weftmesh/weft:test"
	return &c
}

func readPod(t *testing.T, path string) *corev1.Pod {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{}
	if err := yaml.UnmarshalStrict(data, pod); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return pod
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s (-want +got):\n%s", path, d)
	}
}

// TestGolden injects each testdata/*.yaml pod and compares the result with its
// .golden file. The input pod must be left as it was.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.yaml")
	if len(files) == 0 {
		t.Fatal("no testdata")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			pod := readPod(t, f)
			before := pod.DeepCopy()
			out, d, err := Pod(testConfig(), pod, Owner{})
			if err != nil {
				t.Fatal(err)
			}
			if !d.Inject {
				t.Fatalf("not injected: %s", d.Reason)
			}
			if diff := cmp.Diff(before, pod); diff != "" {
				t.Errorf("input pod changed:\n%s", diff)
			}
			data, err := yaml.Marshal(out)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(f, ".yaml")+".golden", data)
			checkContracts(t, out)

			// Injecting the result again changes nothing.
			again, d, err := Pod(testConfig(), out, Owner{})
			if err != nil || d.Inject || again != out {
				t.Errorf("second injection: %v, %+v", err, d)
			}
		})
	}
}

// checkContracts: what the injector writes for the proxy is what the proxy reads.
func checkContracts(t *testing.T, pod *corev1.Pod) {
	t.Helper()
	for _, c := range pod.Spec.InitContainers {
		for _, e := range c.Env {
			if e.Name == ProbersEnv {
				if _, err := probe.Parse([]byte(e.Value)); err != nil {
					t.Errorf("%s does not parse in the proxy: %v", ProbersEnv, err)
				}
			}
		}
	}
}

func TestInjectErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		ann  map[string]string
		vols []corev1.Volume
		want string
	}{
		{"unknown annotation", map[string]string{"sidecar.istio.io/userVolume": "{}", "sidecar.istio.io/agentLogLevel": "debug"},
			nil, "annotation sidecar.istio.io/agentLogLevel, sidecar.istio.io/userVolume: not supported by weft's injector"},
		{"unknown proxy config field", map[string]string{AnnotationProxyConfig: "{concurrency: 2, tracing: {zipkin: {}}}"},
			nil, `annotation proxy.istio.io/config: field "tracing" is not supported by weft`},
		{"proxy config not yaml", map[string]string{AnnotationProxyConfig: "{concurrency: "}, nil, "annotation proxy.istio.io/config"},
		{"negative concurrency", map[string]string{AnnotationProxyConfig: "concurrency: -1"}, nil, "concurrency -1 is negative"},
		{"dns capture", map[string]string{AnnotationProxyConfig: "proxyMetadata: {ISTIO_META_DNS_CAPTURE: \"true\"}"}, nil, "no DNS proxy"},
		{"tproxy", map[string]string{AnnotationInterceptionMode: "TPROXY"}, nil,
			`annotation sidecar.istio.io/interceptionMode: interceptionMode "TPROXY" is not supported by weft`},
		{"bad cidr", map[string]string{AnnotationIncludeOutboundIPs: "10.0.0.0/33"}, nil,
			"annotation traffic.sidecar.istio.io/includeOutboundIPRanges"},
		{"exclude all", map[string]string{AnnotationExcludeOutboundIPs: "*"}, nil, "would exclude every destination"},
		{"bad port", map[string]string{AnnotationExcludeInboundPorts: "http"}, nil, "annotation traffic.sidecar.istio.io/excludeInboundPorts"},
		{"bad quantity", map[string]string{AnnotationProxyCPU: "lots"}, nil, `annotation sidecar.istio.io/proxyCPU: "lots"`},
		{"request above limit", map[string]string{AnnotationProxyMemory: "2Gi"}, nil, "memory request 2Gi is above its limit 1Gi"},
		{"not native", map[string]string{AnnotationNativeSidecar: "false"}, nil, "only as a native sidecar"},
		{"log level", map[string]string{AnnotationLogLevel: "loud"}, nil, `log level "loud"`},
		{"status port", map[string]string{AnnotationStatusPort: "70000"}, nil, "70000 out of range"},
		{"readiness", map[string]string{AnnotationReadinessPeriod: "0"}, nil, "readiness.status.sidecar.istio.io/periodSeconds: 0 out of range"},
		{"volume taken", nil, []corev1.Volume{{Name: PodInfoVolume}}, "already has a volume named istio-podinfo"},
		{"CA volume taken", nil, []corev1.Volume{{Name: CACertVolume}}, "already has a volume named istiod-ca-cert"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pod := &corev1.Pod{}
			pod.Name, pod.Namespace, pod.Annotations = "p", "default", tc.ann
			pod.Spec.Containers = []corev1.Container{{Name: "app", Image: "app"}}
			pod.Spec.Volumes = tc.vols
			_, _, err := Pod(testConfig(), pod, Owner{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
}
