package bookinfo

import (
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/weftmesh/weft/internal/demo"
)

// DefaultPort is the port every bookinfo container listens on.
const DefaultPort = 9080

// Services returns the names of the bookinfo services New knows.
func Services() []string { return []string{"productpage", "details", "reviews", "ratings"} }

// Config is what a bookinfo service reads from its container's environment. FromEnv fills it
// the way the original images do; callers may then override the addresses.
type Config struct {
	// Version is the image version: v1, v2 or v3 for reviews; v1, v2, v-faulty, v-delayed,
	// v-unavailable or v-unhealthy for ratings; v1 or v2 for details.
	Version string

	// DetailsAddr, ReviewsAddr and RatingsAddr are the host:port productpage and reviews
	// call, "details:9080" and so on by default.
	DetailsAddr, ReviewsAddr, RatingsAddr string

	// PodName and ClusterName are what reviews reports as "podname" and "clustername".
	PodName, ClusterName string

	// EnableRatings and StarColor shape reviews: v1 has no ratings, v2 black stars, v3 red.
	EnableRatings bool
	StarColor     string

	// ExternalBooks makes details fetch the book from the Google Books API (details v2);
	// WithIstio sends that request as plain HTTP for the sidecar to originate TLS.
	ExternalBooks, WithIstio bool

	// FloodFactor is how many extra reviews calls productpage makes per page, for
	// rate-limiting demos.
	FloodFactor int

	// Proxy chooses the proxy for outbound calls; nil means direct.
	Proxy demo.ProxyFunc

	// Log receives errors of outbound calls; nil discards them.
	Log *slog.Logger

	// booksAPI replaces the Google Books API base URL in tests.
	booksAPI string
}

// FromEnv returns the Config of service at image version as its original container would
// see it: version sets the image's defaults and the environment (read through getenv)
// overrides them, as a pod's env overrides a Dockerfile's ENV.
func FromEnv(service, version string, getenv func(string) string) (Config, error) {
	if version == "" {
		version = "v1"
	}
	c := Config{
		Version:     version,
		DetailsAddr: serviceAddr(getenv, "details"),
		ReviewsAddr: serviceAddr(getenv, "reviews"),
		RatingsAddr: serviceAddr(getenv, "ratings"),
		PodName:     podName(getenv),
		ClusterName: getenv("CLUSTER_NAME"),
		StarColor:   "black",
		Proxy:       demo.ProxyFromEnv(getenv),
	}
	if c.ClusterName == "" {
		c.ClusterName = "null" // what the original's Java string concatenation prints
	}
	switch {
	case service == "reviews" && version == "v3":
		c.EnableRatings, c.StarColor = true, "red"
	case service == "reviews" && version == "v2":
		c.EnableRatings = true
	case service == "ratings":
		if v := getenv("SERVICE_VERSION"); v != "" {
			c.Version = v
		}
	case service == "details":
		c.ExternalBooks = version == "v2"
	}
	if v := getenv("STAR_COLOR"); v != "" {
		c.StarColor = v
	}
	var err error
	for _, b := range []struct {
		name string
		dst  *bool
	}{{"ENABLE_RATINGS", &c.EnableRatings}, {"ENABLE_EXTERNAL_BOOK_SERVICE", &c.ExternalBooks}} {
		if v := getenv(b.name); v != "" {
			*b.dst = strings.EqualFold(v, "true")
		}
	}
	c.WithIstio = getenv("WITH_ISTIO") == "true"
	if v := getenv("FLOOD_FACTOR"); v != "" {
		if c.FloodFactor, err = strconv.Atoi(v); err != nil || c.FloodFactor < 0 {
			return Config{}, fmt.Errorf("FLOOD_FACTOR %q: not a non-negative integer", v)
		}
	}
	return c, nil
}

// New returns the handler of one bookinfo service.
func New(service string, c Config) (http.Handler, error) {
	switch service {
	case "productpage":
		return NewProductPage(c), nil
	case "details":
		return NewDetails(c), nil
	case "reviews":
		return NewReviews(c)
	case "ratings":
		return NewRatings(c)
	}
	return nil, fmt.Errorf("unknown bookinfo service %q (want one of %s)", service, strings.Join(Services(), ", "))
}

// serviceAddr is the host:port of a bookinfo service: <NAME>_HOSTNAME (default the service
// name) plus "."+SERVICES_DOMAIN when set, and <NAME>_SERVICE_PORT (default 9080).
func serviceAddr(getenv func(string) string, name string) string {
	up := strings.ToUpper(name)
	host := getenv(up + "_HOSTNAME")
	if host == "" {
		host = name
	}
	if d := getenv("SERVICES_DOMAIN"); d != "" {
		host += "." + d
	}
	port := getenv(up + "_SERVICE_PORT")
	if port == "" {
		port = strconv.Itoa(DefaultPort)
	}
	return net.JoinHostPort(host, port)
}

// podName is the pod's name as Kubernetes exposes it, in HOSTNAME.
func podName(getenv func(string) string) string {
	if h := getenv("HOSTNAME"); h != "" {
		return h
	}
	h, _ := os.Hostname()
	return h
}

func (c Config) logger() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}
