package proxy_test

import (
	"io"
	"net/http"
	"net/http/httptest"
)

type httptestServer = httptest.Server

func newHTTPTestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }

func readAll(resp *http.Response) string {
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
