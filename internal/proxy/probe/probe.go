package probe

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
)

// EnvName is the environment variable the injector passes the probes in.
const EnvName = "ISTIO_KUBE_APP_PROBERS"

// Prober is one application probe: exactly one of HTTPGet, TCPSocket and GRPC.
type Prober struct {
	HTTPGet   *HTTPGet   `json:"httpGet,omitempty"`
	TCPSocket *TCPSocket `json:"tcpSocket,omitempty"`
	GRPC      *GRPC      `json:"grpc,omitempty"`
	// TimeoutSeconds bounds the check (the kubelet's default, 1, when 0).
	TimeoutSeconds int32 `json:"timeoutSeconds,omitempty"`
}

// HTTPGet is an HTTP probe. Port is a number: the injector resolves named ports.
type HTTPGet struct {
	Path        string   `json:"path,omitempty"`
	Port        int      `json:"port"`
	Host        string   `json:"host,omitempty"`
	Scheme      string   `json:"scheme,omitempty"`
	HTTPHeaders []Header `json:"httpHeaders,omitempty"`
}

// Header is a header an HTTP probe sends.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// TCPSocket is a probe that passes when a connection opens.
type TCPSocket struct {
	Port int    `json:"port"`
	Host string `json:"host,omitempty"`
}

// GRPC is a probe through the gRPC health checking protocol.
type GRPC struct {
	Port    int     `json:"port"`
	Service *string `json:"service,omitempty"`
}

// Set maps the status port's paths (/app-health/<container>/readyz) to probes.
type Set map[string]*Prober

var pathPattern = regexp.MustCompile(`^/app-health/[^/]+/(livez|readyz|startupz)$`)

// Parse reads and validates the injector's JSON. Unknown fields, paths not of the
// form /app-health/<container>/{livez,readyz,startupz}, probes with no handler or
// several, and ports out of range are errors naming the path.
func Parse(data []byte) (Set, error) {
	var s Set
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return nil, fmt.Errorf("app probers: %w", err)
	}
	paths := make([]string, 0, len(s))
	for p := range s {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	var errs []error
	for _, p := range paths {
		if err := validate(p, s[p]); err != nil {
			errs = append(errs, fmt.Errorf("app probers: %s: %w", p, err))
		}
	}
	return s, errors.Join(errs...)
}

func validate(path string, p *Prober) error {
	if !pathPattern.MatchString(path) {
		return errors.New("path must be /app-health/<container>/{livez,readyz,startupz}")
	}
	if p == nil {
		return errors.New("no probe")
	}
	n, port := 0, 0
	if p.HTTPGet != nil {
		n, port = n+1, p.HTTPGet.Port
		if s := p.HTTPGet.Scheme; s != "" && s != "HTTP" && s != "HTTPS" {
			return fmt.Errorf("httpGet.scheme %q: want HTTP or HTTPS", s)
		}
	}
	if p.TCPSocket != nil {
		n, port = n+1, p.TCPSocket.Port
	}
	if p.GRPC != nil {
		n, port = n+1, p.GRPC.Port
	}
	if n != 1 {
		return errors.New("want exactly one of httpGet, tcpSocket and grpc")
	}
	if port < 1 || port > 65535 {
		return fmt.Errorf("port %d out of range", port)
	}
	if p.TimeoutSeconds < 0 {
		return fmt.Errorf("timeoutSeconds %d is negative", p.TimeoutSeconds)
	}
	return nil
}
