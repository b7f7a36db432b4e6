package mesh

import (
	"fmt"
	"net/netip"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// NodeType is what kind of proxy a node is.
type NodeType string

// Node types, as the first field of Istio's node ID.
const (
	SidecarProxy NodeType = "sidecar"
	Router       NodeType = "router" // gateways
)

// Node is what the control plane knows of one connected xDS client.
type Node struct {
	// ID is the xDS node ID: "sidecar~10.1.0.5~productpage-v1-6b746.default~default.svc.cluster.local".
	ID   string
	Type NodeType
	// IPs are the workload's addresses.
	IPs []string
	// Name is the workload instance name ("productpage-v1-6b746"), Namespace its namespace.
	Name      string
	Namespace string
	// DNSDomain is the ID's last field ("default.svc.cluster.local").
	DNSDomain string
	// Labels are the workload's labels (from node metadata LABELS).
	Labels map[string]string
	// Metadata is the node's metadata as flat strings (ISTIO_VERSION, CLUSTER_ID, ...).
	Metadata map[string]string
	// Proxyless is set for gRPC clients with node metadata GENERATOR=grpc.
	Proxyless bool
	// NoCapture is set for a sidecar without traffic capture (metadata
	// INTERCEPTION_MODE=NONE, as Istio): its app uses it as an explicit HTTP proxy
	// and the mesh reaches the app through listeners on the node's address.
	NoCapture bool
	// AppAddress is where the node's application listens: metadata WEFT_APP_ADDRESS
	// (weft up without root gives each pod's app an address of its own), else
	// 127.0.0.1 when empty.
	AppAddress string
}

// ParseNode reads an xDS node. IDs in Istio's form give type, IP, name and namespace;
// a proxyless gRPC client may use any ID and declares itself in the metadata.
func ParseNode(n *corev3.Node) (*Node, error) {
	if n.GetId() == "" {
		return nil, fmt.Errorf("node: id is required")
	}
	node := &Node{ID: n.GetId(), Type: SidecarProxy, Labels: map[string]string{}, Metadata: map[string]string{}}
	for k, v := range n.GetMetadata().GetFields() {
		switch {
		case k == "LABELS" && v.GetStructValue() != nil:
			for lk, lv := range v.GetStructValue().GetFields() {
				node.Labels[lk] = lv.GetStringValue()
			}
		case v.GetStringValue() != "":
			node.Metadata[k] = v.GetStringValue()
		}
	}
	node.Proxyless = node.Metadata["GENERATOR"] == "grpc"
	parts := strings.Split(n.GetId(), "~")
	if len(parts) == 4 {
		node.Type = NodeType(parts[0])
		if node.Type != SidecarProxy && node.Type != Router {
			return nil, fmt.Errorf("node %q: unknown proxy type %q", n.GetId(), parts[0])
		}
		if parts[1] != "" {
			node.IPs = strings.Split(parts[1], ",")
		}
		node.Name, node.Namespace, _ = strings.Cut(parts[2], ".")
		node.DNSDomain = parts[3]
	} else if !node.Proxyless {
		return nil, fmt.Errorf("node %q: id must be type~ip~name.namespace~domain", n.GetId())
	}
	if ns := node.Metadata["NAMESPACE"]; ns != "" {
		node.Namespace = ns
	}
	if ips := node.Metadata["INSTANCE_IPS"]; ips != "" {
		node.IPs = strings.Split(ips, ",")
	}
	switch mode := node.Metadata["INTERCEPTION_MODE"]; mode {
	case "", "REDIRECT":
	case "NONE":
		node.NoCapture = true
		if len(node.IPs) == 0 {
			return nil, fmt.Errorf("node %q: INTERCEPTION_MODE NONE needs the node's address (INSTANCE_IPS or the ID's)", n.GetId())
		}
	default:
		return nil, fmt.Errorf("node %q: INTERCEPTION_MODE %q is not supported (REDIRECT or NONE)", n.GetId(), mode)
	}
	if a := node.Metadata["WEFT_APP_ADDRESS"]; a != "" {
		if _, err := netip.ParseAddr(a); err != nil {
			return nil, fmt.Errorf("node %q: WEFT_APP_ADDRESS: %w", n.GetId(), err)
		}
		node.AppAddress = a
	}
	return node, nil
}
