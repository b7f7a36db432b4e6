package localmesh

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() == 0 {
		return
	}
	if os.Getenv("WEFT_SKIP_PRIVILEGED") == "1" {
		t.Skip("privileged test skipped: WEFT_SKIP_PRIVILEGED=1")
	}
	t.Fatal("this test needs root for network namespaces; run as root (CI does) or set WEFT_SKIP_PRIVILEGED=1 to skip it explicitly")
}

func TestHostsFile(t *testing.T) {
	svcs := map[string]netip.Addr{"reviews.default": netip.MustParseAddr("10.96.0.2"), "db.other": netip.MustParseAddr("10.96.0.3")}
	got := HostsFile("productpage-v1-0", "default", netip.MustParseAddr("10.244.0.5"), svcs, "cluster.local")
	for _, want := range []string{
		"10.244.0.5\tproductpage-v1-0\n",
		"10.96.0.2\treviews.default.svc.cluster.local reviews.default.svc reviews.default reviews\n",
		"10.96.0.3\tdb.other.svc.cluster.local db.other.svc db.other\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("hosts lacks %q:\n%s", want, got)
		}
	}
}

// TestNetworkPods builds the bridge and two pods, checks that one reaches the other by
// a service name from its hosts file, and that teardown leaves nothing behind.
func TestNetworkPods(t *testing.T) {
	requireRoot(t)
	ctx := context.Background()
	n := DefaultNetwork()
	n.Bridge = fmt.Sprintf("wt%d", os.Getpid()%100000)
	n.Prefix = fmt.Sprintf("wt%d-", os.Getpid()%100000)
	n.PodCIDR = netip.MustParsePrefix("10.250.0.0/24")
	if err := n.Up(ctx); err != nil {
		t.Fatal(err)
	}
	a, b := n.NetnsName("default", "a"), n.NetnsName("default", "b")
	t.Cleanup(func() {
		n.DeletePod(ctx, a)
		n.DeletePod(ctx, b)
		n.Down(ctx)
	})
	ipA, _ := n.AllocatePod()
	ipB, _ := n.AllocatePod()
	svcs := map[string]netip.Addr{"bsvc.default": ipB}
	if err := n.AddPod(ctx, a, ipA, HostsFile("a", "default", ipA, svcs, "cluster.local")); err != nil {
		t.Fatal(err)
	}
	if err := n.AddPod(ctx, b, ipB, HostsFile("b", "default", ipB, svcs, "cluster.local")); err != nil {
		t.Fatal(err)
	}
	srv := exec.Command("ip", "netns", "exec", b, os.Args[0], "-test.run=^TestNetHelper$")
	srv.Env = append(os.Environ(), "WEFT_NET_HELPER=serve")
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer srv.Process.Kill()
	cli := exec.Command("ip", "netns", "exec", a, os.Args[0], "-test.run=^TestNetHelper$", "-test.v")
	cli.Env = append(os.Environ(), "WEFT_NET_HELPER=dial")
	out, err := cli.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "got hello from bsvc") {
		t.Fatalf("pod a to bsvc:7000: %v\n%s", err, out)
	}
	n.DeletePod(ctx, a)
	n.DeletePod(ctx, b)
	n.Down(ctx)
	for _, path := range []string{"/run/netns/" + a, "/etc/netns/" + a, "/sys/class/net/" + n.Bridge} {
		if _, err := os.Stat(path); err == nil {
			t.Errorf("%s left behind", path)
		}
	}
}

// TestNetHelper is the server or client TestNetworkPods runs inside a pod; on its own it
// does nothing.
func TestNetHelper(t *testing.T) {
	switch os.Getenv("WEFT_NET_HELPER") {
	case "serve":
		ln, err := net.Listen("tcp", ":7000")
		if err != nil {
			t.Fatal(err)
		}
		c, err := ln.Accept()
		if err == nil {
			io.WriteString(c, "hello")
			c.Close()
		}
	case "dial":
		var c net.Conn
		var err error
		for i := 0; i < 50; i++ {
			if c, err = net.Dial("tcp", "bsvc:7000"); err == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(c)
		t.Logf("got %s from bsvc", b)
	}
}
