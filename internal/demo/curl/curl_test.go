package curl

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestDo(t *testing.T) {
	var got *http.Request
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		if r.URL.Path == "/slow" {
			select {
			case <-time.After(time.Second):
			case <-r.Context().Done():
			}
		}
		w.Header().Set("X-Answer", "42")
		w.WriteHeader(http.StatusTeapot)
		io.WriteString(w, "body")
	}))
	defer srv.Close()

	var out bytes.Buffer
	data := "a=1"
	err := Do(context.Background(), Request{
		URL: strings.TrimPrefix(srv.URL, "http://") + "/p", Headers: []string{"end-user: jason", "Host: reviews"},
		Data: &data, Include: true, WriteOut: `\n%{http_code}`,
	}, &out)
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != "POST" || got.Host != "reviews" || got.Header.Get("End-User") != "jason" || gotBody != "a=1" ||
		got.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		t.Errorf("request: %s host %q headers %v body %q", got.Method, got.Host, got.Header, gotBody)
	}
	if s := out.String(); !strings.HasPrefix(s, "HTTP/1.1 418 I'm a teapot\r\n") || !strings.Contains(s, "x-answer: 42\r\n") ||
		!strings.HasSuffix(s, "\r\n\r\nbody\n418") {
		t.Errorf("output %q", s)
	}

	err = Do(context.Background(), Request{URL: srv.URL, Fail: true}, io.Discard)
	if !errors.Is(err, ErrHTTPStatus) {
		t.Errorf("-f on 418: %v", err)
	}
	err = Do(context.Background(), Request{URL: srv.URL + "/slow", MaxTime: 50 * time.Millisecond}, io.Discard)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("-m 0.05 on a slow server: %v", err)
	}
	if err := Do(context.Background(), Request{URL: srv.URL, Headers: []string{"bad"}}, io.Discard); err == nil {
		t.Error("a header without a colon was accepted")
	}
}

// TestProxy: like curl, plain service names go to HTTP_PROXY in absolute form.
func TestProxy(t *testing.T) {
	var target string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		target = r.RequestURI
		io.WriteString(w, "via proxy")
	}))
	defer proxy.Close()
	u, _ := url.Parse(proxy.URL)
	var out bytes.Buffer
	err := Do(context.Background(), Request{URL: "http://productpage:9080/productpage", Proxy: http.ProxyURL(u)}, &out)
	if err != nil || out.String() != "via proxy" || target != "http://productpage:9080/productpage" {
		t.Errorf("through proxy: %q, %v (proxy saw %q)", out.String(), err, target)
	}
}
