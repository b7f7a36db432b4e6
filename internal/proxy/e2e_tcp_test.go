package proxy_test

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy"
)

// echoTCP is a raw TCP echo server.
func echoTCP(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	return ln
}

func tcpListener(name, cluster string) string {
	return `
  - name: ` + name + `
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    filter_chains:
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: ` + name + `
          cluster: ` + cluster
}

func TestTCPProxy(t *testing.T) {
	t.Parallel()
	up := echoTCP(t)
	b := bootstrapOf(t, tcpListener("tcp", "echo"), staticCluster("echo", "", up.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	c, err := net.Dial("tcp", strings.TrimPrefix(listenerURL(t, p, "tcp"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := strings.Repeat("ping ", 20000) // larger than one buffer
	go io.WriteString(c, msg)
	got := make([]byte, len(msg))
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != msg {
		t.Fatalf("echo through tcp_proxy: %v", err)
	}
	c.(*net.TCPConn).CloseWrite()
	if n, err := c.Read(got); n != 0 || err != io.EOF {
		t.Errorf("after half-close read %d, %v; want EOF", n, err)
	}
	eventually(t, counter(p, "tcp.tcp.downstream_cx_total", 1))
	eventually(t, counter(p, "tcp.tcp.downstream_cx_rx_bytes_total", uint64(len(msg))))
}

// TestWebSocket upgrades through the proxy and exchanges bytes both ways.
func TestWebSocket(t *testing.T) {
	t.Parallel()
	up := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") != "websocket" {
			http.Error(w, "not ws", 400)
			return
		}
		c, brw, _ := w.(http.Hijacker).Hijack()
		defer c.Close()
		io.WriteString(c, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
		line, _ := brw.ReadString('\n')
		io.WriteString(c, "echo:"+line)
	}))
	routes := `
- match: {prefix: "/"}
  route: {cluster: ws}`
	b := bootstrapOf(t, hcmListener("l", routes, "upgrade_configs: [{upgrade_type: websocket}]"), staticCluster("ws", "", up.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	c, err := net.Dial("tcp", strings.TrimPrefix(listenerURL(t, p, "l"), "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 101 {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	io.WriteString(c, "hello\n")
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := br.ReadString('\n')
	if line != "echo:hello\n" {
		t.Errorf("over the upgraded connection got %q, %v", line, err)
	}

	// Without upgrade_configs the upgrade is refused with 403.
	b2 := bootstrapOf(t, hcmListener("l2", routes, ""), staticCluster("ws", "", up.Listener.Addr().String()))
	p2 := startProxy(t, b2, proxy.Options{})
	out := rawExchange(t, listenerURL(t, p2, "l2"), "GET /chat HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n")
	if !strings.HasPrefix(out, "HTTP/1.1 403 ") {
		t.Errorf("upgrade without upgrade_configs: %.60q, want 403", out)
	}
}

// TestSNIPassthrough picks tcp_proxy chains by the SNI that tls_inspector reads,
// without terminating TLS (Istio's passthrough and egress pattern).
func TestSNIPassthrough(t *testing.T) {
	t.Parallel()
	pki := newPKI(t)
	a, b := tlsEcho(t, pki, "a"), tlsEcho(t, pki, "b")
	l := `
  - name: sni
    address: {socket_address: {address: 127.0.0.1, port_value: 0}}
    listener_filters:
    - name: envoy.filters.listener.tls_inspector
    filter_chains:
    - filter_chain_match: {server_names: [a.example.com]}
      filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: a, cluster: a}
    - filter_chain_match: {server_names: ["*.example.com"]}
      filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config: {"@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy, stat_prefix: b, cluster: b}`
	bs := bootstrapOf(t, l, staticCluster("a", "", a)+staticCluster("b", "", b))
	p := startProxy(t, bs, proxy.Options{})
	addr := strings.TrimPrefix(listenerURL(t, p, "sni"), "http://")
	for sni, want := range map[string]string{"a.example.com": "a", "x.example.com": "b"} {
		c, err := tls.Dial("tcp", addr, &tls.Config{ServerName: sni, InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("%s: %v", sni, err)
		}
		got, _ := io.ReadAll(c)
		c.Close()
		if string(got) != want {
			t.Errorf("SNI %s reached %q, want %q", sni, got, want)
		}
	}
}

// tlsEcho is a TLS server that writes its name and closes.
func tlsEcho(t *testing.T, pki *pki, name string) string {
	t.Helper()
	cert, err := tls.LoadX509KeyPair(pki.serverCert, pki.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { io.WriteString(c, name); c.Close() }()
		}
	}()
	return ln.Addr().String()
}

// TestTCPProxyOutlierDetection: tcp_proxy feeds outlier detection, as Envoy does: an
// endpoint that refuses connections is ejected after consecutive_5xx failures (local
// failures count as 503), and the connections after that all reach the live one.
func TestTCPProxyOutlierDetection(t *testing.T) {
	t.Parallel()
	live := echoTCP(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := dead.Addr().String()
	dead.Close() // nothing listens there now: connections are refused
	od := "outlier_detection: {consecutive_5xx: 2, interval: 30s, base_ejection_time: 60s, max_ejection_percent: 50}"
	b := bootstrapOf(t, tcpListener("tcp", "mix"), staticCluster("mix", od, live.Addr().String(), deadAddr))
	p := startProxy(t, b, proxy.Options{})
	addr := strings.TrimPrefix(listenerURL(t, p, "tcp"), "http://")
	echo := func() bool {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		if _, err := io.WriteString(c, "ping"); err != nil {
			return false
		}
		got := make([]byte, 4)
		_, err = io.ReadFull(c, got)
		return err == nil && string(got) == "ping"
	}
	failed := 0
	for range 6 { // round robin: three tries at the dead endpoint, ejected after two
		if !echo() {
			failed++
		}
	}
	if failed < 2 || failed > 3 {
		t.Errorf("%d of 6 connections failed, want 2 (3 if a pick raced the ejection)", failed)
	}
	eventually(t, counter(p, "cluster.mix.outlier_detection.ejections_enforced_consecutive_5xx", 1))
	for i := range 6 {
		if !echo() {
			t.Errorf("connection %d after the ejection failed", i)
		}
	}
}
