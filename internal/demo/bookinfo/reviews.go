package bookinfo

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/weftmesh/weft/internal/demo"
)

const (
	// ratingsUnavailable is the text reviews puts in place of stars when ratings fails.
	ratingsUnavailable = "Ratings service is currently unavailable"
	// ratingsTimeoutBlack and ratingsTimeoutOther bound reviews' ratings call, so that a 7s
	// delay injected on ratings breaks v3 but not v2.
	ratingsTimeoutBlack = 10 * time.Second
	ratingsTimeoutOther = 2500 * time.Millisecond
)

// reviewTexts are the two reviews of the book.
var reviewTexts = [2]review{
	{Reviewer: "Reviewer1", Text: "An extremely entertaining play by Shakespeare. The slapstick humour is refreshing!"},
	{Reviewer: "Reviewer2", Text: "Absolutely fun and entertaining. The play lacks thematic depth when compared to other plays by Shakespeare."},
}

type reviews struct {
	cfg     Config
	client  *http.Client
	timeout time.Duration
}

// NewReviews returns the reviews service: /reviews/<id> answers the book's two reviews, with
// their ratings from the ratings service when cfg.EnableRatings is set, and /health reports
// it healthy. It fails for a version other than v1, v2 or v3.
func NewReviews(cfg Config) (http.Handler, error) {
	switch cfg.Version {
	case "v1", "v2", "v3":
	default:
		return nil, fmt.Errorf("reviews version %q: want v1, v2 or v3", cfg.Version)
	}
	rv := &reviews{cfg: cfg, client: demo.NewClient(cfg.Proxy), timeout: ratingsTimeout(cfg.StarColor)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		demo.WriteJSON(w, http.StatusOK, map[string]string{"status": "Reviews is healthy"})
	})
	mux.HandleFunc("GET /reviews/{id}", rv.serve)
	return mux, nil
}

// ratingsTimeout is reviews' timeout for its ratings call: generous for black stars (v2),
// short for any other colour (v3), as in the original.
func ratingsTimeout(starColor string) time.Duration {
	if starColor == "black" {
		return ratingsTimeoutBlack
	}
	return ratingsTimeoutOther
}

func (rv *reviews) serve(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		http.NotFound(w, r)
		return
	}
	out := bookReviews{
		ID: strconv.Itoa(id), PodName: rv.cfg.PodName, ClusterName: rv.cfg.ClusterName,
		Reviews: reviewTexts[:],
	}
	if rv.cfg.EnableRatings {
		stars := rv.ratings(r.Context(), id, r.Header)
		out.Reviews = make([]review, len(reviewTexts))
		for i, rev := range reviewTexts {
			rev.Rating = &rating{Error: ratingsUnavailable}
			if s, ok := stars[rev.Reviewer]; ok {
				rev.Rating = &rating{Stars: s, Color: rv.cfg.StarColor}
			}
			out.Reviews[i] = rev
		}
	}
	demo.WriteJSON(w, http.StatusOK, out)
}

// ratings asks the ratings service for the book's stars per reviewer, forwarding in's
// propagated headers. It returns nil when ratings does not answer 200 in time.
func (rv *reviews) ratings(ctx context.Context, id int, in http.Header) map[string]int {
	ctx, cancel := context.WithTimeout(ctx, rv.timeout)
	defer cancel()
	url := "http://" + rv.cfg.RatingsAddr + "/ratings/" + strconv.Itoa(id)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		rv.cfg.logger().Warn("reviews: ratings request", "url", url, "err", err)
		return nil
	}
	demo.Forward(req.Header, in)
	req.Header.Set("Accept", "application/json")
	resp, err := rv.client.Do(req)
	if err != nil {
		rv.cfg.logger().Warn("reviews: unable to contact ratings", "url", url, "err", err)
		return nil
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		rv.cfg.logger().Warn("reviews: unable to contact ratings", "url", url, "status", resp.StatusCode)
		return nil
	}
	var body bookRatings
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&body); err != nil {
		rv.cfg.logger().Warn("reviews: ratings answer", "url", url, "err", err)
		return nil
	}
	return body.Ratings
}
