package httpbin

import (
	"encoding/json"
	"io"
	"math/rand/v2"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DefaultPort is the port the Istio httpbin sample's container listens on.
const DefaultPort = 8080

// maxDelay caps /delay, as httpbin does.
const maxDelay = 10 * time.Second

// envHeaders are the headers httpbin hides unless the query has show_env: the ones a proxy
// in front of it adds.
var envHeaders = map[string]bool{
	"X-Varnish": true, "X-Request-Start": true, "X-Heroku-Queue-Depth": true, "X-Real-Ip": true,
	"X-Forwarded-Proto": true, "X-Forwarded-Protocol": true, "X-Forwarded-Ssl": true,
	"X-Heroku-Queue-Wait-Time": true, "X-Forwarded-For": true, "X-Heroku-Dynos-In-Use": true,
	"X-Forwarded-Port": true, "X-Request-Id": true, "Via": true, "Total-Route-Time": true, "Connect-Time": true,
}

// New returns the httpbin handler.
func New() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "httpbin (weft demo): /get /headers /ip /user-agent /anything /status/{codes} /delay/{seconds}\n")
	})
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"args": args(r.URL.Query()), "headers": headers(r),
			"origin": origin(r), "url": fullURL(r)})
	})
	mux.HandleFunc("GET /headers", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"headers": headers(r)})
	})
	mux.HandleFunc("GET /ip", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"origin": origin(r)})
	})
	mux.HandleFunc("GET /user-agent", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"user-agent": r.UserAgent()})
	})
	mux.HandleFunc("/anything", anything)
	mux.HandleFunc("/anything/", anything)
	mux.HandleFunc("/status/{codes}", status)
	mux.HandleFunc("/delay/{seconds}", delay)
	return mux
}

// anything echoes the request: method, query, body, form, JSON, headers, origin and URL.
func anything(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, echo(r))
}

func echo(r *http.Request) map[string]any {
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	out := map[string]any{
		"args": args(r.URL.Query()), "data": string(body), "files": map[string]any{}, "form": map[string]any{},
		"headers": headers(r), "json": nil, "method": r.Method, "origin": origin(r), "url": fullURL(r),
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		if form, err := url.ParseQuery(string(body)); err == nil {
			out["form"], out["data"] = args(form), ""
		}
	default:
		var v any
		if json.Unmarshal(body, &v) == nil {
			out["json"] = v
		}
	}
	return out
}

// status answers with one of the comma-separated codes, each optionally weighted as
// "code:weight", picked at random.
func status(w http.ResponseWriter, r *http.Request) {
	code, ok := pickStatus(r.PathValue("codes"), rand.Float64)
	if !ok {
		http.Error(w, "Invalid status code", http.StatusBadRequest)
		return
	}
	switch code {
	case http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusUseProxy, http.StatusTemporaryRedirect:
		w.Header().Set("Location", "/redirect/1")
	case http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Basic realm="Fake Realm"`)
	case http.StatusTeapot:
		w.Header().Set("x-more-info", "http://tools.ietf.org/html/rfc2324")
		w.WriteHeader(code)
		io.WriteString(w, teapot)
		return
	}
	w.WriteHeader(code)
}

const teapot = `
    -=[ teapot ]=-

       _...._
     .'  _ _ ` + "`" + `.
    | ."` + "`" + ` ^ ` + "`" + `". _,
    \_;` + "`" + `"---"` + "`" + `|//
      |       ;/
      \_     _/
        ` + "`" + `"""` + "`" + `
`

// pickStatus chooses a code from "200", "200,503" or "200:0.9,503:0.1"; coin returns a
// uniform number in [0, 1).
func pickStatus(spec string, coin func() float64) (int, bool) {
	type choice struct {
		code   int
		weight float64
	}
	var choices []choice
	total := 0.0
	for _, part := range strings.Split(spec, ",") {
		c, w, hasWeight := strings.Cut(strings.TrimSpace(part), ":")
		code, err := strconv.Atoi(c)
		if err != nil || code < 100 || code > 599 {
			return 0, false
		}
		weight := 1.0
		if hasWeight {
			if weight, err = strconv.ParseFloat(w, 64); err != nil || weight < 0 {
				return 0, false
			}
		}
		choices = append(choices, choice{code, weight})
		total += weight
	}
	x := coin() * total
	for _, c := range choices {
		if x < c.weight {
			return c.code, true
		}
		x -= c.weight
	}
	return choices[len(choices)-1].code, true
}

// delay answers like /anything after the given number of seconds (at most 10).
func delay(w http.ResponseWriter, r *http.Request) {
	s, err := strconv.ParseFloat(r.PathValue("seconds"), 64)
	if err != nil || s < 0 {
		http.Error(w, "Invalid delay", http.StatusBadRequest)
		return
	}
	d := min(time.Duration(s*float64(time.Second)), maxDelay)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-r.Context().Done():
		return
	}
	out := echo(r)
	delete(out, "json")
	delete(out, "method")
	writeJSON(w, http.StatusOK, out)
}

// args renders query or form values as httpbin does: one value as a string, several as a list.
func args(v url.Values) map[string]any {
	out := map[string]any{}
	for k, vs := range v {
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = vs
		}
	}
	return out
}

// headers returns r's headers, Title-Cased with repeated values joined by commas, plus Host,
// and without the proxy-added ones unless the query has show_env.
func headers(r *http.Request) map[string]string {
	showEnv := r.URL.Query().Has("show_env")
	out := map[string]string{"Host": r.Host}
	for k, vs := range r.Header {
		if envHeaders[k] && !showEnv {
			continue
		}
		out[k] = strings.Join(vs, ",")
	}
	return out
}

// origin is the client's address: X-Forwarded-For when a proxy set it, else the peer's IP.
func origin(r *http.Request) string {
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		return xff
	}
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		return host
	}
	return r.RemoteAddr
}

func fullURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.RequestURI()
}

// writeJSON writes v indented with sorted keys, as httpbin does.
func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Allow-Credentials", "true")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
