//go:build unix

package control_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/weftmesh/weft/internal/proxy/xdsclient"
)

// The client process of BenchmarkScale: the benchmark runs this test binary again with
// these variables set, and TestScaleClients connects the clients. It answers "stat" on
// stdin with a "scale ..." line on stdout and stops when stdin closes.
const (
	scaleEnvAddr     = "WEFT_SCALE_ADDR"
	scaleEnvClients  = "WEFT_SCALE_CLIENTS"
	scaleEnvServices = "WEFT_SCALE_SERVICES"
)

const (
	scaleClusterType  = "type.googleapis.com/envoy.config.cluster.v3.Cluster"
	scaleEndpointType = "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment"
	scaleListenerType = "type.googleapis.com/envoy.config.listener.v3.Listener"
	scaleRouteType    = "type.googleapis.com/envoy.config.route.v3.RouteConfiguration"
)

// scaleClientStat is the clients' side of a push: how many hold config of every type,
// what they received (and ACKed), and when the last ACK went out.
type scaleClientStat struct {
	ready            int
	responses, bytes int64
	lastAck          time.Time
	err              string
}

// TestScaleClients is BenchmarkScale's client process; run alone it skips.
func TestScaleClients(t *testing.T) {
	addr := os.Getenv(scaleEnvAddr)
	if addr == "" {
		t.Skip("the client process of BenchmarkScale")
	}
	n, _ := strconv.Atoi(os.Getenv(scaleEnvClients))
	services, _ := strconv.Atoi(os.Getenv(scaleEnvServices))
	ctx, cancel := context.WithCancel(context.Background())
	var st scaleTally
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if err := runScaleClient(ctx, addr, scaleNode(i, services), &st); err != nil && ctx.Err() == nil {
				st.fail(err)
			}
		})
	}
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		s := st.stat()
		fmt.Printf("scale %d %d %d %d %q\n", s.ready, s.responses, s.bytes, s.lastAck.UnixNano(), s.err)
	}
	cancel()
	wg.Wait()
}

// scaleNode is client i: a sidecar in namespace ns-(i mod 10), an instance of one of the
// namespace's services (so it has an inbound listener), with Istio's node metadata.
func scaleNode(i, services int) *corev3.Node {
	ns := scaleNamespace(i)
	perNS := max(services/scaleNamespaces, 1)
	app := "svc-" + strconv.Itoa(i%scaleNamespaces+scaleNamespaces*(i/scaleNamespaces%perNS))
	md, _ := structpb.NewStruct(map[string]any{"NAMESPACE": ns, "CLUSTER_ID": "Kubernetes", "ISTIO_VERSION": "1.31.0",
		"LABELS": map[string]any{"app": app, "version": "v1"}})
	return &corev3.Node{Id: "sidecar~" + scaleIP("10.1", i) + "~client-" + strconv.Itoa(i) + "." + ns + "~" + ns + ".svc.cluster.local",
		Metadata: md}
}

// scaleTally adds up what every client received.
type scaleTally struct {
	mu sync.Mutex
	scaleClientStat
}

func (t *scaleTally) received(size int, first bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.responses++
	t.bytes += int64(size)
	t.lastAck = time.Now()
	if first {
		t.ready++
	}
}

func (t *scaleTally) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == "" {
		t.err = err.Error()
	}
}

func (t *scaleTally) stat() scaleClientStat {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.scaleClientStat
}

// scaleClient is one ADS client that subscribes as Envoy does: CDS and LDS wildcard,
// then EDS for the EDS clusters it was sent and RDS for the route configurations its
// listeners name. It ACKs every response at once and keeps nothing but names.
type scaleClient struct {
	st    discoveryv3.AggregatedDiscoveryService_StreamAggregatedResourcesClient
	names map[string][]string // the EDS and RDS subscriptions
	nonce map[string]string   // the last nonce received, by type
	seen  map[string]bool     // types received
	subs  map[string]bool     // EDS and RDS once subscribed
}

func runScaleClient(ctx context.Context, addr string, node *corev3.Node, tally *scaleTally) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(1<<30)))
	if err != nil {
		return err
	}
	defer conn.Close()
	st, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return err
	}
	c := &scaleClient{st: st, names: map[string][]string{}, nonce: map[string]string{}, seen: map[string]bool{},
		subs: map[string]bool{}}
	if err := st.Send(&discoveryv3.DiscoveryRequest{Node: node, TypeUrl: scaleClusterType}); err != nil {
		return err
	}
	if err := st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: scaleListenerType}); err != nil {
		return err
	}
	last := time.Now()
	for {
		resp, err := st.Recv()
		switch {
		case ctx.Err() != nil:
			return nil
		case err == io.EOF:
			return fmt.Errorf("%s: the server ended the stream", node.GetId())
		case err != nil:
			return fmt.Errorf("%s, %s after its last response: %w", node.GetId(), time.Since(last).Round(time.Second), err)
		}
		last = time.Now()
		if err := c.handle(resp); err != nil {
			return err
		}
		t := resp.GetTypeUrl()
		first := !c.seen[t]
		c.seen[t] = true
		tally.received(proto.Size(resp), first && len(c.seen) == 4)
	}
}

// handle ACKs a response and, when it changes what the client must subscribe to,
// subscribes.
func (c *scaleClient) handle(resp *discoveryv3.DiscoveryResponse) error {
	t := resp.GetTypeUrl()
	c.nonce[t] = resp.GetNonce()
	if err := c.st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: t, VersionInfo: resp.GetVersionInfo(),
		ResponseNonce: resp.GetNonce(), ResourceNames: c.names[t]}); err != nil {
		return err
	}
	var sub string
	var names []string
	var err error
	switch t {
	case scaleClusterType:
		sub = scaleEndpointType
		names, err = scaleEDSClusters(resp)
	case scaleListenerType:
		sub = scaleRouteType
		names, err = scaleRouteNames(resp)
	default:
		return nil
	}
	if err != nil || c.subs[sub] && slices.Equal(names, c.names[sub]) {
		return err
	}
	c.names[sub], c.subs[sub] = names, true
	return c.st.Send(&discoveryv3.DiscoveryRequest{TypeUrl: sub, ResponseNonce: c.nonce[sub], ResourceNames: names})
}

// scaleEDSClusters returns the sorted EDS service names of a CDS response's clusters.
func scaleEDSClusters(resp *discoveryv3.DiscoveryResponse) ([]string, error) {
	var out []string
	for _, a := range resp.GetResources() {
		var c clusterv3.Cluster
		if err := a.UnmarshalTo(&c); err != nil {
			return nil, err
		}
		if c.GetType() == clusterv3.Cluster_EDS {
			out = append(out, xdsclient.EDSName(&c))
		}
	}
	slices.Sort(out)
	return out, nil
}

// scaleRouteNames returns the sorted route configuration names the HTTP connection
// managers of an LDS response's listeners take from RDS.
func scaleRouteNames(resp *discoveryv3.DiscoveryResponse) ([]string, error) {
	var out []string
	for _, a := range resp.GetResources() {
		var l listenerv3.Listener
		if err := a.UnmarshalTo(&l); err != nil {
			return nil, err
		}
		out = append(out, xdsclient.RDSNames(&l)...)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// scaleClients is the client process, seen from the benchmark.
type scaleClients struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startScaleClients(b *testing.B, addr string, n, services int) *scaleClients {
	cmd := exec.Command(os.Args[0], "-test.run=^TestScaleClients$")
	cmd.Env = append(os.Environ(), scaleEnvAddr+"="+addr, scaleEnvClients+"="+strconv.Itoa(n),
		scaleEnvServices+"="+strconv.Itoa(services))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	return &scaleClients{cmd: cmd, in: in, out: bufio.NewScanner(out)}
}

// stat asks the client process for its totals.
func (c *scaleClients) stat(b *testing.B) scaleClientStat {
	b.Helper()
	if _, err := io.WriteString(c.in, "stat\n"); err != nil {
		b.Fatalf("clients: %v", err)
	}
	for c.out.Scan() {
		line, ok := strings.CutPrefix(c.out.Text(), "scale ")
		if !ok {
			continue
		}
		var s scaleClientStat
		var last int64
		if _, err := fmt.Sscanf(line, "%d %d %d %d %q", &s.ready, &s.responses, &s.bytes, &last, &s.err); err != nil {
			b.Fatalf("clients: %q: %v", line, err)
		}
		if s.err != "" {
			b.Fatalf("clients: %s", s.err)
		}
		s.lastAck = time.Unix(0, last)
		return s
	}
	b.Fatalf("clients: the process ended: %v", c.out.Err())
	return scaleClientStat{}
}

// close stops the client process and waits for it.
func (c *scaleClients) close(b *testing.B) {
	_ = c.in.Close()
	for c.out.Scan() {
	}
	if err := c.cmd.Wait(); err != nil {
		b.Errorf("clients: %v", err)
	}
}
