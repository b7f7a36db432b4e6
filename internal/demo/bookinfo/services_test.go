package bookinfo

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// do sends a request to h and returns the status and body.
func do(t *testing.T, h http.Handler, method, target, body string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec.Code, rec.Body.String()
}

func TestDetails(t *testing.T) {
	c, _ := FromEnv("details", "v1", func(string) string { return "" })
	h := NewDetails(c)
	tests := []struct {
		target, want string
		status       int
	}{
		{"/details/0", `{"id":0,"author":"William Shakespeare","year":1595,"type":"paperback","pages":200,"publisher":"PublisherA","language":"English","ISBN-10":"1234567890","ISBN-13":"123-1234567890"}`, 200},
		{"/details/7", `"id":7`, 200},
		{"/details/abc", `{"error":"please provide numeric product id"}`, 400},
		{"/health", `{"status":"Details is healthy"}`, 200},
	}
	for _, tt := range tests {
		status, body := do(t, h, "GET", tt.target, "")
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s = %d %s, want %d %s", tt.target, status, body, tt.status, tt.want)
		}
	}
}

func TestDetailsExternal(t *testing.T) {
	var got *http.Request
	books := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		io.WriteString(w, `{"items":[{"volumeInfo":{"authors":["William Shakespeare"],"publishedDate":"2002-08-07",
			"printType":"BOOK","pageCount":80,"publisher":"Dover Publications","language":"en",
			"industryIdentifiers":[{"type":"ISBN_10","identifier":"0486424618"},{"type":"ISBN_13","identifier":"9780486424613"}]}}]}`)
	}))
	defer books.Close()
	c, _ := FromEnv("details", "v2", func(string) string { return "" })
	c.booksAPI = books.URL
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "/details/0", nil)
	req.Header.Set("x-b3-traceid", "abc")
	NewDetails(c).ServeHTTP(rec, req)
	want := `{"id":0,"author":"William Shakespeare","year":"2002-08-07","type":"paperback","pages":80,"publisher":"Dover Publications","language":"English","ISBN-10":"0486424618","ISBN-13":"9780486424613"}`
	if rec.Code != 200 || strings.TrimSpace(rec.Body.String()) != want {
		t.Errorf("details v2 = %d %s\nwant %s", rec.Code, rec.Body, want)
	}
	if got.URL.Query().Get("q") != "isbn:0486424618" || got.Header.Get("X-B3-Traceid") != "abc" {
		t.Errorf("google books request %s, headers %v", got.URL, got.Header)
	}

	books.Close()
	status, body := do(t, NewDetails(c), "GET", "/details/0", "")
	if status != 400 || !strings.Contains(body, `"error":"google books`) {
		t.Errorf("details v2 without google books = %d %s", status, body)
	}
}

func TestRatings(t *testing.T) {
	newRatings := func(version string) http.Handler {
		h, err := NewRatings(Config{Version: version})
		if err != nil {
			t.Fatal(err)
		}
		return h
	}
	h := newRatings("v1")
	steps := []struct {
		method, target, body, want string
		status                     int
	}{
		{"GET", "/ratings/0", "", `{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}`, 200},
		{"GET", "/ratings/x", "", `{"error":"please provide numeric product ID"}`, 400},
		{"POST", "/ratings/1", `{"Reviewer1":1,"Reviewer2":2}`, `{"id":1,"ratings":{"Reviewer1":1,"Reviewer2":2}}`, 200},
		{"GET", "/ratings/1", "", `{"id":1,"ratings":{"Reviewer1":1,"Reviewer2":2}}`, 200},
		{"POST", "/ratings/1", `not json`, `{"error":"please provide valid ratings JSON"}`, 400},
		{"GET", "/health", "", `{"status":"Ratings is healthy"}`, 200},
	}
	for _, s := range steps {
		status, body := do(t, h, s.method, s.target, s.body)
		if status != s.status || strings.TrimSpace(body) != s.want {
			t.Errorf("%s %s = %d %s, want %d %s", s.method, s.target, status, body, s.status, s.want)
		}
	}
	if status, _ := do(t, newRatings("v2"), "POST", "/ratings/1", `{}`); status != http.StatusNotImplemented {
		t.Errorf("v2 POST = %d, want 501", status)
	}
	if _, err := NewRatings(Config{Version: "v9"}); err == nil {
		t.Error("NewRatings(v9) succeeded")
	}
}

func TestRatingsMisbehave(t *testing.T) {
	rt := &ratings{cfg: Config{Version: "v-faulty"}, start: time.Now(), now: time.Now, added: map[int]map[string]int{}}
	for _, tt := range []struct {
		coin   float64
		status int
	}{{0.2, 503}, {0.7, 200}} {
		rt.coin = func() float64 { return tt.coin }
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("GET", "/ratings/0", nil)
		req.SetPathValue("id", "0")
		rt.get(rec, req)
		if rec.Code != tt.status {
			t.Errorf("v-faulty with coin %v = %d, want %d", tt.coin, rec.Code, tt.status)
		}
	}
	rt.cfg.Version = "v-unhealthy"
	rt.now = func() time.Time { return rt.start.Add(unhealthyPeriod + time.Second) }
	rec := httptest.NewRecorder()
	rt.health(rec, httptest.NewRequest("GET", "/health", nil))
	if rec.Code != 500 || !strings.Contains(rec.Body.String(), "Ratings is not healthy") {
		t.Errorf("v-unhealthy in its down period: %d %s", rec.Code, rec.Body)
	}
}

func TestReviews(t *testing.T) {
	m := newMesh(t)
	rt, _ := NewRatings(Config{Version: "v1"})
	m.add("ratings:9080", rt)
	env := map[string]string{"HOSTNAME": "reviews-vX-abc", "CLUSTER_NAME": "east"}
	stars := func(n int, color string) *rating { return &rating{Stars: n, Color: color} }
	tests := []struct {
		version      string
		ratingsUp    bool
		r1, r2       *rating
		callsRatings bool
	}{
		{"v1", true, nil, nil, false},
		{"v2", true, stars(5, "black"), stars(4, "black"), true},
		{"v3", true, stars(5, "red"), stars(4, "red"), true},
		{"v2", false, &rating{Error: ratingsUnavailable}, &rating{Error: ratingsUnavailable}, true},
	}
	for _, tt := range tests {
		if tt.ratingsUp {
			m.add("ratings:9080", rt)
		} else {
			m.add("ratings:9080", nil)
		}
		before := len(m.headers("ratings:9080"))
		h, err := NewReviews(m.config("reviews", tt.version, env))
		if err != nil {
			t.Fatal(err)
		}
		status, body := do(t, h, "GET", "/reviews/0", "")
		var got bookReviews
		if err := json.Unmarshal([]byte(body), &got); err != nil || status != 200 {
			t.Fatalf("%s: %d %s (%v)", tt.version, status, body, err)
		}
		want := bookReviews{ID: "0", PodName: "reviews-vX-abc", ClusterName: "east", Reviews: []review{
			{Reviewer: "Reviewer1", Text: reviewTexts[0].Text, Rating: tt.r1},
			{Reviewer: "Reviewer2", Text: reviewTexts[1].Text, Rating: tt.r2},
		}}
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("%s (ratings up %v) (-want +got):\n%s", tt.version, tt.ratingsUp, d)
		}
		if called := len(m.headers("ratings:9080")) > before; called != tt.callsRatings {
			t.Errorf("%s called ratings: %v, want %v", tt.version, called, tt.callsRatings)
		}
	}
	h, _ := NewReviews(m.config("reviews", "v1", nil))
	if status, _ := do(t, h, "GET", "/reviews/x", ""); status != 404 {
		t.Errorf("GET /reviews/x = %d, want 404", status)
	}
	if _, body := do(t, h, "GET", "/health", ""); !strings.Contains(body, "Reviews is healthy") {
		t.Errorf("GET /health = %s", body)
	}
}

func TestReviewsJSONShape(t *testing.T) {
	h, _ := NewReviews(Config{Version: "v1", PodName: "reviews-v1-xyz", ClusterName: "null"})
	_, body := do(t, h, "GET", "/reviews/0", "")
	if !strings.HasPrefix(body, `{"id":"0","podname":"reviews-v1-xyz","clustername":"null","reviews":[{"reviewer":"Reviewer1","text":"An extremely`) ||
		strings.Contains(body, "rating") {
		t.Errorf("reviews v1 JSON = %s", body)
	}
}

func TestFromEnv(t *testing.T) {
	env := map[string]string{"RATINGS_HOSTNAME": "ratings-canary", "RATINGS_SERVICE_PORT": "9999",
		"SERVICES_DOMAIN": "bookinfo.svc.cluster.local", "STAR_COLOR": "green", "HOSTNAME": "pod-1"}
	c, err := FromEnv("reviews", "v3", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if c.RatingsAddr != "ratings-canary.bookinfo.svc.cluster.local:9999" || c.DetailsAddr != "details.bookinfo.svc.cluster.local:9080" ||
		!c.EnableRatings || c.StarColor != "green" || c.PodName != "pod-1" || c.ClusterName != "null" || c.Proxy != nil {
		t.Errorf("FromEnv = %+v", c)
	}
	if ratingsTimeout("black") != 10*time.Second || ratingsTimeout("red") != 2500*time.Millisecond {
		t.Error("ratings timeouts differ from the original's 10s (black) and 2.5s (red)")
	}
	c, _ = FromEnv("reviews", "v2", func(k string) string { return map[string]string{"ENABLE_RATINGS": "false"}[k] })
	if c.EnableRatings {
		t.Error("ENABLE_RATINGS=false did not override the v2 image default")
	}
	c, _ = FromEnv("ratings", "v1", func(k string) string { return map[string]string{"SERVICE_VERSION": "v-delayed"}[k] })
	if c.Version != "v-delayed" {
		t.Errorf("ratings SERVICE_VERSION: version %q", c.Version)
	}
	if _, err := FromEnv("productpage", "v1", func(k string) string { return map[string]string{"FLOOD_FACTOR": "x"}[k] }); err == nil {
		t.Error("FLOOD_FACTOR=x accepted")
	}
	if _, err := New("frontend", Config{}); err == nil {
		t.Error("New(frontend) succeeded")
	}
}
