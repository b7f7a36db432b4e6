package bookinfo

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/weftmesh/weft/internal/demo"
)

const (
	// delayedBy is how long ratings v-delayed holds half of its answers.
	delayedBy = 7 * time.Second
	// unavailablePeriod is how often ratings v-unavailable flips between up and down.
	unavailablePeriod = time.Minute
	// unhealthyPeriod is how often ratings v-unhealthy flips between healthy and not.
	unhealthyPeriod = 15 * time.Minute
)

type ratings struct {
	cfg   Config
	start time.Time
	now   func() time.Time
	coin  func() float64 // uniform in [0, 1); tests replace it

	mu    sync.Mutex
	added map[int]map[string]int // ratings POSTed per product, in memory as the original
}

// NewRatings returns the ratings service: GET /ratings/<id> answers each reviewer's stars,
// POST /ratings/<id> replaces them (in memory; v2 answers 501 as its database-backed
// original does), and /health reports the service's health. The misbehaving versions of the
// original are there for resilience demos: v-faulty fails half the requests with 503,
// v-delayed answers half of them after 7s, v-unavailable is down every other minute and
// v-unhealthy is down and unhealthy every other quarter hour. It fails for an unknown version.
func NewRatings(cfg Config) (http.Handler, error) {
	switch cfg.Version {
	case "v1", "v2", "v-faulty", "v-delayed", "v-unavailable", "v-unhealthy":
	default:
		return nil, fmt.Errorf("ratings version %q: want v1, v2, v-faulty, v-delayed, v-unavailable or v-unhealthy", cfg.Version)
	}
	rt := &ratings{cfg: cfg, start: time.Now(), now: time.Now, coin: rand.Float64, added: map[int]map[string]int{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", rt.health)
	mux.HandleFunc("GET /ratings/{id}", rt.get)
	mux.HandleFunc("POST /ratings/{id}", rt.post)
	return mux, nil
}

// down reports whether the service is in a failing half of its period.
func (rt *ratings) down(period time.Duration) bool {
	return int64(rt.now().Sub(rt.start)/period)%2 == 1
}

func (rt *ratings) health(w http.ResponseWriter, _ *http.Request) {
	if rt.cfg.Version == "v-unhealthy" && rt.down(unhealthyPeriod) {
		demo.WriteJSON(w, http.StatusInternalServerError, map[string]string{"status": "Ratings is not healthy"})
		return
	}
	demo.WriteJSON(w, http.StatusOK, map[string]string{"status": "Ratings is healthy"})
}

func (rt *ratings) get(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		demo.WriteJSON(w, http.StatusBadRequest, errorBody{"please provide numeric product ID"})
		return
	}
	fail := false
	switch rt.cfg.Version {
	case "v-faulty":
		fail = rt.coin() < 0.5
	case "v-delayed":
		if rt.coin() < 0.5 {
			select {
			case <-time.After(delayedBy):
			case <-r.Context().Done():
				return
			}
		}
	case "v-unavailable":
		fail = rt.down(unavailablePeriod)
	case "v-unhealthy":
		fail = rt.down(unhealthyPeriod)
	}
	if fail {
		demo.WriteJSON(w, http.StatusServiceUnavailable, errorBody{"Service unavailable"})
		return
	}
	demo.WriteJSON(w, http.StatusOK, bookRatings{ID: id, Ratings: rt.stars(id)})
}

// stars returns the ratings POSTed for product id, or the defaults: 5 and 4 stars.
func (rt *ratings) stars(id int) map[string]int {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if s, ok := rt.added[id]; ok {
		return s
	}
	return map[string]int{"Reviewer1": 5, "Reviewer2": 4}
}

func (rt *ratings) post(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(r.PathValue("id"))
	if err != nil {
		demo.WriteJSON(w, http.StatusBadRequest, errorBody{"please provide numeric product ID"})
		return
	}
	var stars map[string]int
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&stars); err != nil {
		demo.WriteJSON(w, http.StatusBadRequest, errorBody{"please provide valid ratings JSON"})
		return
	}
	if rt.cfg.Version == "v2" {
		demo.WriteJSON(w, http.StatusNotImplemented, errorBody{"Post not implemented for database backed ratings"})
		return
	}
	rt.mu.Lock()
	rt.added[id] = stars
	rt.mu.Unlock()
	demo.WriteJSON(w, http.StatusOK, bookRatings{ID: id, Ratings: stars})
}
