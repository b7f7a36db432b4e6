package curl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/weftmesh/weft/internal/demo"
)

// ErrHTTPStatus is returned, wrapped, by Do with Fail set when the answer's status is 400
// or more, as curl -f exits 22.
var ErrHTTPStatus = errors.New("the requested URL returned an error")

// Request is one curl invocation.
type Request struct {
	URL      string
	Method   string        // -X; GET, or POST with Data
	Headers  []string      // -H "Name: value"; "Host: x" sets the request's host
	Data     *string       // -d; sent as application/x-www-form-urlencoded unless a header says otherwise
	Include  bool          // -i: print the status line and headers before the body
	Fail     bool          // -f: print nothing and fail on a status of 400 or more
	WriteOut string        // -w: printed after the body; knows %{http_code}, %{time_total} and \n
	MaxTime  time.Duration // -m: bound on the whole request; 0 for none
	Output   io.Writer     // -o: where the head and body go instead of out
	Proxy    demo.ProxyFunc
}

// Do sends r and writes what curl would write to out: the head (with Include) and the body,
// unless r.Output takes them, then the WriteOut text.
func Do(ctx context.Context, r Request, out io.Writer) error {
	req, err := r.build(ctx)
	if err != nil {
		return err
	}
	if r.MaxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(req.Context(), r.MaxTime)
		defer cancel()
		req = req.WithContext(ctx)
	}
	client := demo.NewClient(r.Proxy)
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("curl %s: %w", req.URL, err)
	}
	defer resp.Body.Close()
	if r.Fail && resp.StatusCode >= 400 {
		return fmt.Errorf("curl %s: %w: %d", req.URL, ErrHTTPStatus, resp.StatusCode)
	}
	body := out
	if r.Output != nil {
		body = r.Output
	}
	if r.Include {
		writeHead(body, resp)
	}
	if _, err := io.Copy(body, resp.Body); err != nil {
		return fmt.Errorf("curl %s: reading body: %w", req.URL, err)
	}
	if r.WriteOut != "" {
		io.WriteString(out, writeOut(r.WriteOut, resp.StatusCode, time.Since(start)))
	}
	return nil
}

func (r Request) build(ctx context.Context) (*http.Request, error) {
	url := r.URL
	if !strings.Contains(url, "://") {
		url = "http://" + url
	}
	method, body := r.Method, io.Reader(nil)
	if r.Data != nil {
		body = strings.NewReader(*r.Data)
		if method == "" {
			method = http.MethodPost
		}
	}
	if method == "" {
		method = http.MethodGet
	}
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return nil, fmt.Errorf("curl: %w", err)
	}
	req.Header.Set("User-Agent", "curl/weft")
	req.Header.Set("Accept", "*/*")
	if r.Data != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, h := range r.Headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("curl: header %q: want \"Name: value\"", h)
		}
		name, value = strings.TrimSpace(name), strings.TrimSpace(value)
		if strings.EqualFold(name, "Host") {
			req.Host = value
			continue
		}
		req.Header.Set(name, value)
	}
	return req, nil
}

func writeHead(out io.Writer, resp *http.Response) {
	fmt.Fprintf(out, "%s %s\r\n", resp.Proto, resp.Status)
	names := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range resp.Header[k] {
			fmt.Fprintf(out, "%s: %s\r\n", strings.ToLower(k), v)
		}
	}
	io.WriteString(out, "\r\n")
}

func writeOut(format string, code int, took time.Duration) string {
	return strings.NewReplacer(
		"%{http_code}", fmt.Sprintf("%03d", code),
		"%{response_code}", fmt.Sprintf("%03d", code),
		"%{time_total}", fmt.Sprintf("%.6f", took.Seconds()),
		`\n`, "\n",
	).Replace(format)
}
