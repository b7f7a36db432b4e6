package kube

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/weftmesh/weft/internal/control/mesh"
)

func TestPortProtocol(t *testing.T) {
	str := func(s string) *string { return &s }
	cases := []struct {
		name string
		port corev1.ServicePort
		want mesh.Protocol
	}{
		{"name http", corev1.ServicePort{Name: "http", Port: 9080}, mesh.HTTP},
		{"name prefix", corev1.ServicePort{Name: "http-web", Port: 9080}, mesh.HTTP},
		{"name case", corev1.ServicePort{Name: "GRPC-api", Port: 9080}, mesh.GRPC},
		{"grpc-web before the dash rule", corev1.ServicePort{Name: "grpc-web-ui", Port: 80}, mesh.GRPCWeb},
		{"tcp", corev1.ServicePort{Name: "tcp-db", Port: 5432}, mesh.TCP},
		{"unknown name is sniffed", corev1.ServicePort{Name: "web", Port: 8080}, mesh.Unsupported},
		{"unnamed is sniffed", corev1.ServicePort{Port: 8080}, mesh.Unsupported},
		{"well-known port unnamed is TCP", corev1.ServicePort{Port: 3306}, mesh.TCP},
		{"well-known port with a name", corev1.ServicePort{Name: "mysql", Port: 3306}, mesh.MySQL},
		{"appProtocol wins over the name", corev1.ServicePort{Name: "tcp", AppProtocol: str("http"), Port: 80}, mesh.HTTP},
		{"appProtocol h2c", corev1.ServicePort{Name: "web", AppProtocol: str("kubernetes.io/h2c"), Port: 80}, mesh.HTTP2},
		{"appProtocol ws", corev1.ServicePort{AppProtocol: str("kubernetes.io/ws"), Port: 80}, mesh.HTTP},
		{"appProtocol grpc", corev1.ServicePort{AppProtocol: str("grpc"), Port: 80}, mesh.GRPC},
		{"UDP", corev1.ServicePort{Name: "http", Protocol: corev1.ProtocolUDP, Port: 53}, mesh.UDP},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := portProtocol(c.port); got != c.want {
				t.Errorf("portProtocol(%+v) = %s, want %s", c.port, got, c.want)
			}
		})
	}
}

func TestConvertService(t *testing.T) {
	created := time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC)
	meta := metav1.ObjectMeta{Name: "reviews", Namespace: "shop", Labels: map[string]string{"app": "reviews"},
		CreationTimestamp: metav1.NewTime(created)}
	ports := []corev1.ServicePort{
		{Name: "http", Port: 9080, TargetPort: intstr.FromInt32(8080)},
		{Name: "grpc-api", Port: 9090, TargetPort: intstr.FromString("grpc")},
	}
	wantPorts := []mesh.Port{{Name: "http", Number: 9080, Protocol: mesh.HTTP, TargetPort: 8080},
		{Name: "grpc-api", Number: 9090, Protocol: mesh.GRPC}}
	base := mesh.Service{Hostname: "reviews.shop.svc.example.org", Namespace: "shop", Labels: meta.Labels,
		Selector: map[string]string{"app": "reviews"}, CreationTime: created, Source: "Service shop/reviews", Ports: wantPorts}
	cases := []struct {
		name   string
		mutate func(*corev1.Service)
		want   func(*mesh.Service)
	}{
		{"cluster IP", func(s *corev1.Service) {}, func(m *mesh.Service) {
			m.Addresses, m.Resolution = []string{"10.96.0.10"}, mesh.ClientSideLB
		}},
		{"dual stack", func(s *corev1.Service) { s.Spec.ClusterIPs = []string{"10.96.0.10", "fd00::a"} }, func(m *mesh.Service) {
			m.Addresses, m.Resolution = []string{"10.96.0.10", "fd00::a"}, mesh.ClientSideLB
		}},
		{"headless", func(s *corev1.Service) { s.Spec.ClusterIP, s.Spec.ClusterIPs = "None", []string{"None"} },
			func(m *mesh.Service) { m.Resolution = mesh.Passthrough }},
		{"external name", func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ClusterIP, s.Spec.ClusterIPs, s.Spec.ExternalName = corev1.ServiceTypeExternalName, "", nil, "db.example.com"
		}, func(m *mesh.Service) { m.Resolution, m.MeshExternal = mesh.DNSLB, true }},
		{"exportTo", func(s *corev1.Service) { s.Annotations = map[string]string{annotationExportTo: " ., istio-system "} },
			func(m *mesh.Service) {
				m.Addresses, m.Resolution, m.ExportTo = []string{"10.96.0.10"}, mesh.ClientSideLB, []string{".", "istio-system"}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			svc := &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Ports: ports, Selector: map[string]string{"app": "reviews"},
				ClusterIP: "10.96.0.10", ClusterIPs: []string{"10.96.0.10"}, Type: corev1.ServiceTypeClusterIP}}
			c.mutate(svc)
			want := base
			c.want(&want)
			if diff := cmp.Diff(&want, convertService(svc, "example.org")); diff != "" {
				t.Errorf("convertService (-want +got):\n%s", diff)
			}
		})
	}
}
