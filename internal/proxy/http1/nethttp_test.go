package http1

import (
	"bufio"
	"net/http"
)

type netHTTPRequest = http.Request

func httpReadRequest(r *bufio.Reader) (*http.Request, error) { return http.ReadRequest(r) }
