package mesh

import (
	"strings"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/types/known/structpb"
)

func xdsNode(t *testing.T, id string, md map[string]any) *corev3.Node {
	t.Helper()
	s, err := structpb.NewStruct(md)
	if err != nil {
		t.Fatal(err)
	}
	return &corev3.Node{Id: id, Metadata: s}
}

// TestParseNode reads Istio's node ID and metadata: type, addresses, namespace,
// labels, and the interception mode.
func TestParseNode(t *testing.T) {
	n, err := ParseNode(xdsNode(t, "sidecar~10.1.0.5~productpage-v1-6b746.default~default.svc.cluster.local", map[string]any{
		"LABELS": map[string]any{"app": "productpage"}, "INSTANCE_IPS": "10.1.0.5,fd00::5",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if n.Type != SidecarProxy || n.Name != "productpage-v1-6b746" || n.Namespace != "default" || len(n.IPs) != 2 ||
		n.Labels["app"] != "productpage" || n.NoCapture || n.AppAddress != "" {
		t.Errorf("parsed %+v", n)
	}
	n, err = ParseNode(xdsNode(t, "sidecar~127.1.0.5~pp-0.default~default.svc.cluster.local", map[string]any{
		"INTERCEPTION_MODE": "NONE", "WEFT_APP_ADDRESS": "127.2.0.5",
	}))
	if err != nil || !n.NoCapture || n.AppAddress != "127.2.0.5" {
		t.Errorf("INTERCEPTION_MODE NONE: %+v, %v", n, err)
	}
	for md, want := range map[string]string{
		"TPROXY":        `INTERCEPTION_MODE "TPROXY" is not supported`,
		"bad app":       "WEFT_APP_ADDRESS",
		"NONE, no addr": "needs the node's address",
	} {
		id, meta := "sidecar~10.1.0.5~a.default~default.svc.cluster.local", map[string]any{"INTERCEPTION_MODE": md}
		switch md {
		case "bad app":
			meta = map[string]any{"WEFT_APP_ADDRESS": "nowhere"}
		case "NONE, no addr":
			id, meta = "sidecar~~a.default~default.svc.cluster.local", map[string]any{"INTERCEPTION_MODE": "NONE"}
		}
		if _, err := ParseNode(xdsNode(t, id, meta)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want %q", md, err, want)
		}
	}
}
