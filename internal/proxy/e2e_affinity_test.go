package proxy_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/proxy"
)

// namedServer answers with its name.
func namedServer(t *testing.T, name string) string {
	s := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, name) }))
	return s.Listener.Addr().String()
}

// TestSessionAffinity: RING_HASH with a header hash policy sends each user to one
// host; a cookie policy with a TTL generates the cookie and the client sticks to a host.
func TestSessionAffinity(t *testing.T) {
	t.Parallel()
	hosts := []string{namedServer(t, "a"), namedServer(t, "b"), namedServer(t, "c")}
	routes := `
- match: {prefix: "/user"}
  route: {cluster: ring, hash_policy: [{header: {header_name: x-user}}]}
- match: {prefix: "/cookie"}
  route: {cluster: ring, hash_policy: [{cookie: {name: affinity, ttl: 3600s, path: /}}]}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), staticCluster("ring", "lb_policy: RING_HASH", hosts...))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")
	seen := map[string]bool{}
	// Enough users that all of them landing on one of three hosts is out of the question
	// (3 × 3^-24), whatever ports the hosts got.
	for u := range 24 {
		user := fmt.Sprintf("user-%d", u)
		first := ""
		for i := 0; i < 3; i++ {
			req, _ := http.NewRequest("GET", url+"/user", nil)
			req.Header.Set("X-User", user)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got := readAll(resp)
			if first == "" {
				first = got
			} else if got != first {
				t.Errorf("user %s went to %s then %s", user, first, got)
			}
		}
		seen[first] = true
	}
	if len(seen) < 2 {
		t.Errorf("24 users all hashed to %v", seen)
	}

	resp, err := http.Get(url + "/cookie")
	if err != nil {
		t.Fatal(err)
	}
	first := readAll(resp)
	sc := resp.Header.Get("Set-Cookie")
	if !strings.HasPrefix(sc, `affinity="`) || !strings.Contains(sc, "Max-Age=3600; Path=/; HttpOnly") {
		t.Fatalf("Set-Cookie %q", sc)
	}
	cookie := strings.SplitN(sc, ";", 2)[0]
	for i := 0; i < 10; i++ {
		req, _ := http.NewRequest("GET", url+"/cookie", nil)
		req.Header.Set("Cookie", strings.ReplaceAll(cookie, `"`, ""))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(resp); got != first || resp.Header.Get("Set-Cookie") != "" {
			t.Errorf("with the cookie: host %s (first %s), set-cookie %q", got, first, resp.Header.Get("Set-Cookie"))
		}
	}
}

// TestMaxStreamDuration: a route's max_stream_duration ends a slow request with 408
// and UMSDR.
func TestMaxStreamDuration(t *testing.T) {
	t.Parallel()
	slow := newServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { time.Sleep(500 * time.Millisecond) }))
	routes := `
- match: {prefix: "/"}
  route: {cluster: slow, max_stream_duration: {max_stream_duration: 0.1s}}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), staticCluster("slow", "", slow.Listener.Addr().String()))
	p := startProxy(t, b, proxy.Options{})
	resp, err := http.Get(listenerURL(t, p, "l") + "/")
	if err != nil {
		t.Fatal(err)
	}
	if body := readAll(resp); resp.StatusCode != 408 || body != "upstream max stream duration reached" {
		t.Errorf("got %d %q", resp.StatusCode, body)
	}
	eventually(t, counter(p, "cluster.slow.upstream_rq_max_duration_reached", 1))
}

// TestLocalityWeightedLB: with locality_weighted_lb_config, traffic is split between
// localities by their load_balancing_weight (1:3 here), and a locality without a weight
// gets none, as in Envoy.
func TestLocalityWeightedLB(t *testing.T) {
	t.Parallel()
	hosts := map[string]string{"a": namedServer(t, "a"), "b": namedServer(t, "b"), "c": namedServer(t, "c")}
	cluster := `
  - name: zones
    connect_timeout: 1s
    type: STATIC
    common_lb_config: {locality_weighted_lb_config: {}}
    load_assignment:
      cluster_name: zones
      endpoints:`
	for _, z := range []struct{ name, weight string }{{"a", "1"}, {"b", "3"}, {"c", ""}} {
		host, port, _ := strings.Cut(hosts[z.name], ":")
		cluster += fmt.Sprintf(`
      - locality: {zone: %s}`, z.name)
		if z.weight != "" {
			cluster += "\n        load_balancing_weight: " + z.weight
		}
		cluster += fmt.Sprintf(`
        lb_endpoints:
        - endpoint: {address: {socket_address: {address: %s, port_value: %s}}}`, host, port)
	}
	routes := `
- match: {prefix: "/"}
  route: {cluster: zones}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), cluster)
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")
	got := map[string]int{}
	for range 400 {
		resp, err := http.Get(url + "/")
		if err != nil {
			t.Fatal(err)
		}
		got[readAll(resp)]++
	}
	if got["c"] != 0 || got["a"] < 70 || got["a"] > 130 || got["b"] < 270 || got["b"] > 330 {
		t.Errorf("400 requests went %v, want about a=100, b=300, c=0", got)
	}
}

// TestHashByHostname: with use_hostname_for_hashing a ring places hosts by hostname, not
// address, so two clusters whose endpoints carry the same hostnames at different
// addresses send each user to the same hostname (Envoy's way to keep affinity across
// address changes).
func TestHashByHostname(t *testing.T) {
	t.Parallel()
	addrs := []string{namedServer(t, "0"), namedServer(t, "1"), namedServer(t, "2")}
	cluster := func(name string, shift int) string {
		y := `
  - name: ` + name + `
    connect_timeout: 1s
    type: STATIC
    lb_policy: RING_HASH
    common_lb_config: {consistent_hashing_lb_config: {use_hostname_for_hashing: true}}
    load_assignment:
      cluster_name: ` + name + `
      endpoints:
      - lb_endpoints:`
		for i := range addrs {
			host, port, _ := strings.Cut(addrs[(i+shift)%len(addrs)], ":")
			y += fmt.Sprintf(`
        - endpoint: {hostname: h%d, address: {socket_address: {address: %s, port_value: %s}}}`, i, host, port)
		}
		return y
	}
	routes := `
- match: {prefix: "/a"}
  route: {cluster: a, hash_policy: [{header: {header_name: x-user}}]}
- match: {prefix: "/b"}
  route: {cluster: b, hash_policy: [{header: {header_name: x-user}}]}`
	b := bootstrapOf(t, hcmListener("l", routes, ""), cluster("a", 0)+cluster("b", 1))
	p := startProxy(t, b, proxy.Options{})
	url := listenerURL(t, p, "l")
	// hostnameOf maps the server that answered back to its hostname in the cluster.
	hostnameOf := func(server string, shift int) int {
		n := int(server[0] - '0')
		return (n - shift + len(addrs)) % len(addrs)
	}
	seen := map[int]bool{}
	for u := range 24 {
		var got [2]int
		for i, path := range []string{"/a", "/b"} {
			req, _ := http.NewRequest("GET", url+path, nil)
			req.Header.Set("X-User", fmt.Sprintf("user-%d", u))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			got[i] = hostnameOf(readAll(resp), i)
		}
		if got[0] != got[1] {
			t.Errorf("user-%d: hostname h%d in cluster a, h%d in cluster b", u, got[0], got[1])
		}
		seen[got[0]] = true
	}
	if len(seen) < 2 {
		t.Errorf("24 users all hashed to %v", seen)
	}
}
