package bookinfo

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
)

// get fetches url with c and returns the status and body.
func get(t *testing.T, c *http.Client, url string, hdr map[string]string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestPageShowsReviewsVersion: the page tells the reviews versions apart the way the
// original does, and names the reviews pod that answered.
func TestPageShowsReviewsVersion(t *testing.T) {
	tests := []struct {
		version     string
		font        string
		full, empty int
	}{
		{"v1", "", 0, 0},
		{"v2", `<font color="black">`, 9, 1},
		{"v3", `<font color="red">`, 9, 1},
	}
	for _, tt := range tests {
		t.Run(tt.version, func(t *testing.T) {
			m := newMesh(t)
			pp := m.bookinfo(tt.version)
			status, page := get(t, client(t), pp.URL+"/productpage", nil)
			if status != 200 {
				t.Fatalf("status %d", status)
			}
			for _, want := range []string{
				"<title>Simple Bookstore App</title>", "The Comedy of Errors", "<b>William Shakespeare's</b>",
				"Book Details", "PublisherA", "1234567890", "Book Reviews",
				"An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!",
				"Reviews served by: reviews-" + tt.version + "-5d8f7b9c4-x2x7q",
				`name="login_form"`, `name="username"`,
			} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
			full := strings.Count(page, `class="glyphicon glyphicon-star"`)
			empty := strings.Count(page, `class="glyphicon glyphicon-star-empty"`)
			if full != tt.full || empty != tt.empty {
				t.Errorf("stars: %d full, %d empty; want %d, %d", full, empty, tt.full, tt.empty)
			}
			if tt.font == "" && strings.Contains(page, "<font") {
				t.Error("v1 page has a <font> element")
			}
			if tt.font != "" && strings.Count(page, tt.font) != 2 {
				t.Errorf("page has %d of %s, want 2", strings.Count(page, tt.font), tt.font)
			}
		})
	}
}

// TestPageWhenBackendsFail: the texts fault-injection demos look for.
func TestPageWhenBackendsFail(t *testing.T) {
	m := newMesh(t)
	pp := m.bookinfo("v2")
	m.add("ratings:9080", nil)
	_, page := get(t, client(t), pp.URL+"/productpage", nil)
	if strings.Count(page, "<p><i>Ratings service is currently unavailable</i></p>") != 2 {
		t.Errorf("ratings down: page lacks the ratings error:\n%s", page)
	}

	m.add("details:9080", nil)
	m.add("reviews:9080", nil)
	before := len(m.headers("reviews:9080"))
	status, page := get(t, client(t), pp.URL+"/productpage", nil)
	for _, want := range []string{
		"Error fetching product details!", "Sorry, product details are currently unavailable for this book.",
		"Error fetching product reviews!", "Sorry, product reviews are currently unavailable for this book.",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if status != 200 {
		t.Errorf("page status %d, want 200", status)
	}
	if n := len(m.headers("reviews:9080")) - before; n != 2 {
		t.Errorf("productpage tried reviews %d times, want 2", n)
	}
}

func TestAPI(t *testing.T) {
	m := newMesh(t)
	pp := m.bookinfo("v3")
	c := client(t)
	tests := []struct {
		path, want string
		status     int
	}{
		{"/api/v1/products", `[{"id":0,"title":"The Comedy of Errors","descriptionHtml":"<a href=`, 200},
		{"/api/v1/products/0", `"publisher":"PublisherA"`, 200},
		{"/api/v1/products/0/reviews", `"rating":{"stars":5,"color":"red"}`, 200},
		{"/api/v1/products/0/ratings", `{"id":0,"ratings":{"Reviewer1":5,"Reviewer2":4}}`, 200},
		{"/api/v1/products/x", `{"error":"Sorry, product details are currently unavailable for this book."}`, 400},
		{"/health", "Product page is healthy", 200},
		{"/", `href="productpage?u=normal"`, 200},
		{"/metrics", `request_result_total{destination_app="details",response_code="200"} 1`, 200},
	}
	for _, tt := range tests {
		status, body := get(t, c, pp.URL+tt.path, nil)
		if status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("GET %s = %d %s\nwant %d with %s", tt.path, status, body, tt.status, tt.want)
		}
	}
	m.add("ratings:9080", nil)
	status, body := get(t, c, pp.URL+"/api/v1/products/0/ratings", nil)
	if status != 503 || !strings.Contains(body, "Sorry, product ratings are currently unavailable for this book.") {
		t.Errorf("ratings down: %d %s", status, body)
	}
}

// TestLoginRoutesAsUser: signing in sets a session cookie; from then on productpage sends
// end-user with the user's name, and reviews passes it on to ratings, with the tracing
// headers of the original request.
func TestLoginRoutesAsUser(t *testing.T) {
	m := newMesh(t)
	pp := m.bookinfo("v2")
	c := client(t)
	c.Jar, _ = cookiejar.New(nil)

	resp, err := c.PostForm(pp.URL+"/login", url.Values{"username": {"jason"}, "passwd": {"x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/productpage" {
		t.Errorf("login: %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	if cs := c.Jar.Cookies(mustURL(t, pp.URL)); len(cs) != 1 || cs[0].Name != "session" {
		t.Fatalf("cookies after login: %v", cs)
	}

	trace := map[string]string{"x-request-id": "req-1", "x-b3-traceid": "80f198ee56343ba8", "x-b3-sampled": "1",
		"traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "user-agent": "test-agent"}
	_, page := get(t, c, pp.URL+"/productpage", trace)
	if !strings.Contains(page, `jason ( <a href="logout">sign out</a> )`) {
		t.Error("page does not show the signed-in user")
	}
	for _, host := range []string{"details:9080", "reviews:9080", "ratings:9080"} {
		hs := m.headers(host)
		if len(hs) == 0 {
			t.Fatalf("%s was not called", host)
		}
		h := hs[len(hs)-1]
		if got := h.Get("end-user"); got != "jason" {
			t.Errorf("%s got end-user %q, want jason", host, got)
		}
		for k, v := range trace {
			if h.Get(k) != v {
				t.Errorf("%s got %s %q, want %q", host, k, h.Get(k), v)
			}
		}
	}

	req, _ := http.NewRequest("GET", pp.URL+"/logout", nil)
	req.Header.Set("Referer", pp.URL+"/productpage")
	resp, err = c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if cs := c.Jar.Cookies(mustURL(t, pp.URL)); len(cs) != 0 || resp.Header.Get("Location") != pp.URL+"/productpage" {
		t.Errorf("after logout: cookies %v, location %q", cs, resp.Header.Get("Location"))
	}
	get(t, c, pp.URL+"/productpage", nil)
	if h := m.headers("reviews:9080"); h[len(h)-1].Get("end-user") != "" {
		t.Error("end-user sent after logout")
	}
}

func TestForgedSessionIgnored(t *testing.T) {
	r := httptest.NewRequest("GET", "/productpage", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: encodeSession("jason")})
	if got := sessionUser(r); got != "jason" {
		t.Errorf("sessionUser = %q, want jason", got)
	}
	forged := strings.Replace(encodeSession("jason"), "amFzb24", "YWRtaW4", 1) // "jason" -> "admin"
	r = httptest.NewRequest("GET", "/productpage", nil)
	r.AddCookie(&http.Cookie{Name: "session", Value: forged})
	if got := sessionUser(r); got != "" {
		t.Errorf("forged session accepted as %q", got)
	}
}

// TestDirectWithoutProxy: without HTTP_PROXY the apps call the configured addresses.
func TestDirectWithoutProxy(t *testing.T) {
	var calls atomic.Int32
	details := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		NewDetails(Config{}).ServeHTTP(w, r)
	}))
	defer details.Close()
	c, _ := FromEnv("productpage", "v1", func(string) string { return "" })
	c.DetailsAddr = strings.TrimPrefix(details.URL, "http://")
	pp := httptest.NewServer(NewProductPage(c))
	defer pp.Close()
	status, body := get(t, client(t), pp.URL+"/api/v1/products/0", nil)
	if status != 200 || calls.Load() != 1 || !strings.Contains(body, "PublisherA") {
		t.Errorf("direct call: %d %s (%d calls)", status, body, calls.Load())
	}
}

func TestFlood(t *testing.T) {
	m := newMesh(t)
	m.bookinfo("v1")
	pp := httptest.NewServer(NewProductPage(m.config("productpage", "v1", map[string]string{"FLOOD_FACTOR": "3"})))
	defer pp.Close()
	get(t, client(t), pp.URL+"/productpage", nil)
	if n := len(m.headers("reviews:9080")); n != 4 {
		t.Errorf("reviews called %d times with FLOOD_FACTOR=3, want 4", n)
	}
}
