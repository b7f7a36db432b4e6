package bookinfo

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"

	"github.com/weftmesh/weft/internal/demo"
)

// mesh stands in for the sidecars: an HTTP proxy that hands each request to the service its
// Host names and records the headers every service received.
type mesh struct {
	t        *testing.T
	proxy    *httptest.Server
	mu       sync.Mutex
	services map[string]http.Handler
	seen     map[string][]http.Header // host -> headers of each request it received
}

func newMesh(t *testing.T) *mesh {
	t.Helper()
	m := &mesh{t: t, services: map[string]http.Handler{}, seen: map[string][]http.Header{}}
	m.proxy = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.proxy.Close)
	return m
}

func (m *mesh) serve(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	h, ok := m.services[r.Host]
	m.seen[r.Host] = append(m.seen[r.Host], r.Header.Clone())
	m.mu.Unlock()
	if !ok {
		http.Error(w, "no healthy upstream", http.StatusServiceUnavailable)
		return
	}
	h.ServeHTTP(w, r)
}

// add makes host answer with h; a nil h removes the service.
func (m *mesh) add(host string, h http.Handler) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if h == nil {
		delete(m.services, host)
		return
	}
	m.services[host] = h
}

// headers returns the headers of each request host received.
func (m *mesh) headers(host string) []http.Header {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[host]
}

// config returns a Config for service at version that reaches the mesh through HTTP_PROXY
// and uses the Kubernetes service names, as the apps do in the mesh's shared-network mode.
func (m *mesh) config(service, version string, env map[string]string) Config {
	m.t.Helper()
	getenv := func(k string) string {
		if k == "HTTP_PROXY" {
			return m.proxy.URL
		}
		return env[k]
	}
	c, err := FromEnv(service, version, getenv)
	if err != nil {
		m.t.Fatal(err)
	}
	return c
}

// bookinfo wires details, ratings and the given reviews version into m and returns a
// productpage server that reaches them through the mesh.
func (m *mesh) bookinfo(reviewsVersion string) *httptest.Server {
	m.t.Helper()
	m.add("details:9080", NewDetails(m.config("details", "v1", nil)))
	rt, err := NewRatings(m.config("ratings", "v1", nil))
	if err != nil {
		m.t.Fatal(err)
	}
	m.add("ratings:9080", rt)
	rv, err := NewReviews(m.config("reviews", reviewsVersion, map[string]string{"HOSTNAME": "reviews-" + reviewsVersion + "-5d8f7b9c4-x2x7q"}))
	if err != nil {
		m.t.Fatal(err)
	}
	m.add("reviews:9080", rv)
	pp := httptest.NewServer(NewProductPage(m.config("productpage", "v1", nil)))
	m.t.Cleanup(pp.Close)
	return pp
}

// client returns an HTTP client that keeps cookies and does not follow redirects.
func client(t *testing.T) *http.Client {
	t.Helper()
	c := demo.NewClient(nil)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return c
}

func mustURL(t *testing.T, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
