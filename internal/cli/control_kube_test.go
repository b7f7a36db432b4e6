package cli

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/weftmesh/weft/internal/control/ads"
	"github.com/weftmesh/weft/internal/kubetest"
)

func TestKubeEnabled(t *testing.T) {
	cases := []struct {
		name      string
		f         kubeFlags
		configDir bool
		inPod     bool
		want      bool
	}{
		{"files only", kubeFlags{}, true, false, false},
		{"--kubeconfig", kubeFlags{kubeconfig: "k"}, true, false, true},
		{"--kube", kubeFlags{kube: true}, false, false, true},
		{"in a pod without files", kubeFlags{}, false, true, true},
		{"in a pod with files", kubeFlags{}, true, true, false},
		{"nothing", kubeFlags{}, false, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			host := ""
			if c.inPod {
				host = "10.96.0.1"
			}
			t.Setenv("KUBERNETES_SERVICE_HOST", host)
			if got := c.f.enabled(c.configDir); got != c.want {
				t.Errorf("enabled = %v, want %v", got, c.want)
			}
		})
	}
}

// TestControlKubeconfig runs weft control --kubeconfig against a real API server and
// takes a cluster for a Kubernetes Service over ADS.
func TestControlKubeconfig(t *testing.T) {
	c := kubetest.Start(t)
	c.ApplyIstioCRDs(t)
	ns := c.Namespace(t)
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "reviews", Namespace: ns},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "reviews"}, Ports: []corev1.ServicePort{{Name: "http", Port: 9080}}}}
	if _, err := c.Client.CoreV1().Services(ns).Create(t.Context(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	c.RunPod(t, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "reviews-v1", Namespace: ns, Labels: map[string]string{"app": "reviews"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example.invalid/app"}}}}, netip.MustParseAddr("10.250.3.1"))

	ctx, cancel := context.WithCancel(context.Background())
	addrs := make(chan string, 1)
	done := make(chan error, 1)
	f := controlFlags{xdsAddr: "127.0.0.1:0", monAddr: "127.0.0.1:0", logLevel: "error",
		kube: kubeFlags{kubeconfig: c.Kubeconfig, writeStatus: true}}
	go func() { done <- runControl(ctx, f, func(x, _ net.Addr) { addrs <- x.String() }) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("weft control: %v", err)
		}
	})
	var xds string
	select {
	case xds = <-addrs:
	case err := <-done:
		t.Fatalf("weft control: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("weft control did not start")
	}
	conn, err := grpc.NewClient(xds, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "sidecar~10.250.3.9~productpage-v1-1." + ns + "~" + ns + ".svc.cluster.local"}
	if err := st.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: ads.ClusterType}); err != nil {
		t.Fatal(err)
	}
	recvClusters(t, st, "outbound|9080||reviews."+ns+".svc.cluster.local")
}
