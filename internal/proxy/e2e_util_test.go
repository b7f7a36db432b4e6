package proxy_test

import (
	"net/http"
	"net/http/httptest"
)

type httptestServer = httptest.Server

func newHTTPTestServer(h http.Handler) *httptest.Server { return httptest.NewServer(h) }
