package ads

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"testing"
	"time"

	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/weftmesh/weft/internal/control/ca"
)

// TestSecureXDS: WithSecureXDS serves the same server over TLS: a client trusting
// the root subscribes there and shows up in syncz beside a plaintext one; a
// plaintext client on the TLS port gets nothing.
func TestSecureXDS(t *testing.T) {
	root, err := ca.New(ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := root.ServingConfig([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	sl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessServing(t, []ServeOption{WithSecureXDS(sl, cfg)})
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(root.RootPEM())
	conn, err := grpc.NewClient(sl.Addr().String(), grpc.WithTransportCredentials(credentials.NewTLS(&tls.Config{RootCAs: pool})))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	secure := &sotwClient{xdsClient: newXDSClient(t, discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources),
		node: node("secure", "ns1")}
	r := secure.subscribe(ClusterType)
	if diff := cmp.Diff([]string{clusterA, clusterB}, names(t, r.GetResources())); diff != "" {
		t.Errorf("clusters over TLS (-want +got):\n%s", diff)
	}
	secure.ack(r)
	plain := h.sotw(node("plain", "ns1"))
	plain.ack(plain.subscribe(ClusterType))
	h.waitSync("secure.ns1", ClusterType, synced)
	h.waitSync("plain.ns1", ClusterType, synced)

	bad, err := grpc.NewClient(sl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer bad.Close()
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(bad).StreamAggregatedResources(t.Context())
	if err == nil {
		if err = st.Send(&discoveryv3.DiscoveryRequest{Node: node("bad", "ns1"), TypeUrl: ClusterType}); err == nil {
			_, err = st.Recv()
		}
	}
	if err == nil {
		t.Error("a plaintext client was served on the TLS port")
	}
}
