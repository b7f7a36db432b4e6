package bookinfo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/weftmesh/weft/internal/demo"
)

const (
	// callTimeout bounds each of productpage's calls to details, reviews and ratings.
	callTimeout = 3 * time.Second
	// reviewsAttempts is how often productpage tries reviews: the original's deliberate
	// retry, which the fault-injection task depends on (2 x 3s against a 7s delay).
	reviewsAttempts = 2

	detailsUnavailable = "Sorry, product details are currently unavailable for this book."
	reviewsUnavailable = "Sorry, product reviews are currently unavailable for this book."
	ratingsUnavail     = "Sorry, product ratings are currently unavailable for this book."
)

type productPage struct {
	cfg    Config
	client *http.Client

	mu      sync.Mutex
	results map[[2]string]int // calls per (destination_app, response_code), for /metrics
}

// NewProductPage returns productpage: the HTML page at /productpage built from details and
// reviews, sign-in and sign-out at /login and /logout, the JSON API under /api/v1/products,
// an index at /, /health and /metrics. It forwards the tracing and session headers of each
// request, and end-user set to the signed-in user, on every call it makes.
func NewProductPage(cfg Config) http.Handler {
	p := &productPage{cfg: cfg, client: demo.NewClient(cfg.Proxy), results: map[[2]string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", p.index)
	mux.HandleFunc("GET /index.html", p.index)
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "Product page is healthy")
	})
	mux.HandleFunc("POST /login", p.login)
	mux.HandleFunc("GET /logout", p.logout)
	mux.HandleFunc("GET /productpage", p.page)
	mux.HandleFunc("GET /api/v1/products", func(w http.ResponseWriter, _ *http.Request) {
		demo.WriteJSON(w, http.StatusOK, products())
	})
	mux.HandleFunc("GET /api/v1/products/{id}", p.api(p.details))
	mux.HandleFunc("GET /api/v1/products/{id}/reviews", p.api(p.reviews))
	mux.HandleFunc("GET /api/v1/products/{id}/ratings", p.api(p.ratings))
	mux.HandleFunc("GET /metrics", p.metrics)
	return mux
}

// headers returns the headers of r that productpage forwards, with end-user set to the user
// of r's session when there is one.
func (p *productPage) headers(r *http.Request) http.Header {
	h := http.Header{}
	demo.Forward(h, r.Header)
	if user := sessionUser(r); user != "" {
		h.Set("end-user", user)
	}
	return h
}

func (p *productPage) login(w http.ResponseWriter, r *http.Request) {
	setSession(w, strings.TrimSpace(r.FormValue("username")))
	http.Redirect(w, r, back(r), http.StatusFound)
}

func (p *productPage) logout(w http.ResponseWriter, r *http.Request) {
	setSession(w, "")
	http.Redirect(w, r, back(r), http.StatusFound)
}

// back is where sign-in and sign-out return to: the page they came from.
func back(r *http.Request) string {
	if ref := r.Referer(); ref != "" {
		return ref
	}
	return "/productpage"
}

// api serves one of productpage's JSON endpoints from a backend call.
func (p *productPage) api(call func(context.Context, string, http.Header) (int, []byte)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		status, body := call(r.Context(), r.PathValue("id"), p.headers(r))
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		w.Write(body)
	}
}

// details, reviews and ratings call the backends for product id. Each returns the status to
// report, 200 or the backend's (500 when it did not answer), and a JSON body: the backend's
// answer or an error naming what is unavailable.
func (p *productPage) details(ctx context.Context, id string, h http.Header) (int, []byte) {
	return p.call(ctx, "details", "http://"+p.cfg.DetailsAddr+"/details/"+id, h, 1, detailsUnavailable)
}

func (p *productPage) reviews(ctx context.Context, id string, h http.Header) (int, []byte) {
	return p.call(ctx, "reviews", "http://"+p.cfg.ReviewsAddr+"/reviews/"+id, h, reviewsAttempts, reviewsUnavailable)
}

func (p *productPage) ratings(ctx context.Context, id string, h http.Header) (int, []byte) {
	return p.call(ctx, "ratings", "http://"+p.cfg.RatingsAddr+"/ratings/"+id, h, 1, ratingsUnavail)
}

func (p *productPage) call(ctx context.Context, app, url string, h http.Header, attempts int, unavailable string) (int, []byte) {
	status := http.StatusInternalServerError
	for range attempts {
		var body []byte
		if status, body = p.get(ctx, app, url, h); status == http.StatusOK {
			return status, body
		}
	}
	b, _ := json.Marshal(errorBody{unavailable})
	return status, b
}

// get makes one GET within callTimeout. It returns 200 and the body of a 200 JSON answer,
// or the status to report for a failure.
func (p *productPage) get(ctx context.Context, app, url string, h http.Header) (status int, body []byte) {
	defer func() { p.count(app, status) }()
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		p.cfg.logger().Warn("productpage: request", "url", url, "err", err)
		return http.StatusInternalServerError, nil
	}
	req.Header = h.Clone()
	resp, err := p.client.Do(req)
	if err != nil {
		p.cfg.logger().Warn("productpage: call failed", "url", url, "err", err)
		return http.StatusInternalServerError, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil
	}
	body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil || !json.Valid(body) {
		p.cfg.logger().Warn("productpage: bad answer", "url", url, "err", err)
		return http.StatusInternalServerError, nil
	}
	return http.StatusOK, body
}

// flood makes cfg.FloodFactor extra reviews calls at once and waits for them, as the
// original does to demonstrate rate limiting.
func (p *productPage) flood(ctx context.Context, id string, h http.Header) {
	var wg sync.WaitGroup
	for range p.cfg.FloodFactor {
		wg.Go(func() { p.reviews(ctx, id, h) })
	}
	wg.Wait()
}

func (p *productPage) count(app string, status int) {
	p.mu.Lock()
	p.results[[2]string{app, fmt.Sprint(status)}]++
	p.mu.Unlock()
}

// metrics serves the count of backend calls per destination and response code in the
// Prometheus text format, for the scrape annotations of the productpage Deployment.
func (p *productPage) metrics(w http.ResponseWriter, _ *http.Request) {
	p.mu.Lock()
	keys := make([][2]string, 0, len(p.results))
	for k := range p.results {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+keys[i][1] < keys[j][0]+keys[j][1] })
	var b strings.Builder
	b.WriteString("# HELP request_result_total Results of requests\n# TYPE request_result_total counter\n")
	for _, k := range keys {
		fmt.Fprintf(&b, "request_result_total{destination_app=%q,response_code=%q} %d\n", k[0], k[1], p.results[k])
	}
	p.mu.Unlock()
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	io.WriteString(w, b.String())
}
