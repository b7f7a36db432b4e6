package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftmesh/weft/internal/demo"
	"github.com/weftmesh/weft/internal/demo/bookinfo"
	"github.com/weftmesh/weft/internal/demo/curl"
	"github.com/weftmesh/weft/internal/demo/httpbin"
	"github.com/weftmesh/weft/internal/demo/sleep"
)

func newDemoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the demo apps weft up uses in place of the Istio sample images",
		Long: `Run one of the demo apps built into weft. "weft up" runs them in place of the container
images of Istio's samples (bookinfo, httpbin, curl/sleep), passing the container's env and ports;
they can also be run by hand.`,
	}
	cmd.AddCommand(newDemoBookinfoCmd(), newDemoHTTPBinCmd(), newDemoSleepCmd(), newDemoCurlCmd())
	return cmd
}

// servingFlags are the flags of a demo app that listens: where to listen.
type servingFlags struct {
	port int
	bind string
}

func (f *servingFlags) add(cmd *cobra.Command, def int) {
	cmd.Flags().IntVar(&f.port, "port", def, "port to listen on; when not given, $PORT, else this default (the original image's port)")
	cmd.Flags().StringVar(&f.bind, "bind", "", "address to listen on (default: all addresses)")
}

// listen opens the app's listener: --port when given, else $PORT, else def.
func (f *servingFlags) listen(cmd *cobra.Command, def int) (net.Listener, error) {
	port := def
	switch {
	case cmd.Flags().Changed("port"):
		port = f.port
	case os.Getenv("PORT") != "":
		p, err := strconv.Atoi(os.Getenv("PORT"))
		if err != nil {
			return nil, fmt.Errorf("PORT %q: %w", os.Getenv("PORT"), err)
		}
		port = p
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(f.bind, strconv.Itoa(port)))
	if err != nil {
		return nil, fmt.Errorf("listen: %w", err)
	}
	return ln, nil
}

func serveDemo(ctx context.Context, cmd *cobra.Command, f *servingFlags, def int, name string, h http.Handler) error {
	ln, err := f.listen(cmd, def)
	if err != nil {
		return err
	}
	demoLogger(cmd).Info("demo app listening", "app", name, "address", ln.Addr().String())
	return demo.Serve(ctx, ln, h)
}

func demoLogger(cmd *cobra.Command) *slog.Logger {
	return slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), nil))
}

type bookinfoFlags struct {
	servingFlags
	version                   string
	details, reviews, ratings string
}

func newDemoBookinfoCmd() *cobra.Command {
	var f bookinfoFlags
	cmd := &cobra.Command{
		Use:   "bookinfo productpage|details|reviews|ratings",
		Short: "Run one service of Istio's bookinfo sample",
		Long: `Run one service of Istio's bookinfo sample. --version picks the image (reviews v1: no
ratings, v2: black stars, v3: red stars); the environment overrides its defaults as a pod's env
does (ENABLE_RATINGS, STAR_COLOR, SERVICE_VERSION for ratings, ENABLE_EXTERNAL_BOOK_SERVICE,
WITH_ISTIO, FLOOD_FACTOR). Backends are found as the originals find them: <NAME>_HOSTNAME,
<NAME>_SERVICE_PORT and SERVICES_DOMAIN, by default details:9080, reviews:9080 and ratings:9080,
through HTTP_PROXY when it is set.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: bookinfo.Services(),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := bookinfo.FromEnv(args[0], f.version, os.Getenv)
			if err != nil {
				return err
			}
			if f.details != "" {
				c.DetailsAddr = f.details
			}
			if f.reviews != "" {
				c.ReviewsAddr = f.reviews
			}
			if f.ratings != "" {
				c.RatingsAddr = f.ratings
			}
			c.Log = demoLogger(cmd)
			h, err := bookinfo.New(args[0], c)
			if err != nil {
				return err
			}
			return serveDemo(cmd.Context(), cmd, &f.servingFlags, bookinfo.DefaultPort, args[0]+"-"+c.Version, h)
		},
	}
	f.add(cmd, bookinfo.DefaultPort)
	fl := cmd.Flags()
	fl.StringVar(&f.version, "version", "v1", "image version: v1, v2 or v3 (reviews); v1, v2, v-faulty, v-delayed, v-unavailable or v-unhealthy (ratings)")
	fl.StringVar(&f.details, "details-addr", "", "host:port of details (overrides DETAILS_HOSTNAME and friends)")
	fl.StringVar(&f.reviews, "reviews-addr", "", "host:port of reviews (overrides REVIEWS_HOSTNAME and friends)")
	fl.StringVar(&f.ratings, "ratings-addr", "", "host:port of ratings (overrides RATINGS_HOSTNAME and friends)")
	return cmd
}

func newDemoHTTPBinCmd() *cobra.Command {
	var f servingFlags
	cmd := &cobra.Command{
		Use:   "httpbin",
		Short: "Run a small httpbin: /get, /headers, /ip, /anything, /status/{codes}, /delay/{seconds}",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return serveDemo(cmd.Context(), cmd, &f, httpbin.DefaultPort, "httpbin", httpbin.New())
		},
	}
	f.add(cmd, httpbin.DefaultPort)
	return cmd
}

func newDemoSleepCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "sleep [duration|infinity]",
		Short: "Wait until stopped (or for a duration), as the curl/sleep sample's container does",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d := sleep.Forever
			if len(args) == 1 {
				var err error
				if d, err = sleep.Parse(args[0]); err != nil {
					return err
				}
			}
			return sleep.Run(cmd.Context(), d)
		},
	}
}

type curlFlags struct {
	method, data, output, writeOut, proxy string
	headers                               []string
	include, fail, silent                 bool
	maxTime                               float64
}

func newDemoCurlCmd() *cobra.Command {
	var f curlFlags
	cmd := &cobra.Command{
		Use:   "curl URL",
		Short: "Send one HTTP request, like a tiny curl (honours HTTP_PROXY and NO_PROXY)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runCurl(cmd, f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVarP(&f.headers, "header", "H", nil, `request header "Name: value" (repeatable; "Host: x" sets the host)`)
	fl.StringVarP(&f.method, "request", "X", "", "request method (default GET, or POST with -d)")
	fl.StringVarP(&f.data, "data", "d", "", "request body, sent as a form unless -H sets Content-Type")
	fl.BoolVarP(&f.include, "include", "i", false, "print the response status line and headers")
	fl.BoolVarP(&f.fail, "fail", "f", false, "fail without output on HTTP status 400 or more")
	fl.BoolVarP(&f.silent, "silent", "s", false, "accepted for curl compatibility; weft demo curl prints no progress")
	fl.StringVarP(&f.output, "output", "o", "", "write the body to this file instead of stdout")
	fl.StringVarP(&f.writeOut, "write-out", "w", "", `print this after the body: %{http_code}, %{time_total}, \n`)
	fl.Float64VarP(&f.maxTime, "max-time", "m", 0, "seconds the whole request may take (0: no limit)")
	fl.StringVarP(&f.proxy, "proxy", "x", "", "proxy URL (default: from HTTP_PROXY / HTTPS_PROXY / NO_PROXY)")
	return cmd
}

func runCurl(cmd *cobra.Command, f curlFlags, target string) error {
	r := curl.Request{
		URL: target, Method: f.method, Headers: f.headers, Include: f.include, Fail: f.fail,
		WriteOut: f.writeOut, MaxTime: time.Duration(f.maxTime * float64(time.Second)),
		Proxy: demo.ProxyFromEnv(os.Getenv),
	}
	if cmd.Flags().Changed("data") {
		r.Data = &f.data
	}
	if f.proxy != "" {
		if !strings.Contains(f.proxy, "://") {
			f.proxy = "http://" + f.proxy
		}
		u, err := url.Parse(f.proxy)
		if err != nil {
			return fmt.Errorf("--proxy %q: %w", f.proxy, err)
		}
		r.Proxy = http.ProxyURL(u)
	}
	if f.output == "" {
		return curl.Do(cmd.Context(), r, cmd.OutOrStdout())
	}
	file, err := os.Create(f.output)
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	r.Output = file
	err = curl.Do(cmd.Context(), r, cmd.OutOrStdout())
	if cerr := file.Close(); err == nil && cerr != nil {
		return fmt.Errorf("--output: %w", cerr)
	}
	return err
}
