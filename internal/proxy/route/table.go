package route

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// Options carries what a Table needs from outside the route config. The runtime hooks
// are called from Match on many goroutines at once and must be safe for that.
type Options struct {
	// ParseFilterConfig parses the typed_per_filter_config value for the HTTP filter
	// called name, at build time. When it is nil, any typed_per_filter_config is an error.
	ParseFilterConfig func(name string, cfg *anypb.Any) (any, error)
	// RuntimeFeature decides a runtime_fraction match for a request with the given
	// random value. When it is nil, the default fraction decides: def.Enabled(random).
	RuntimeFeature func(key string, def Fraction, random uint64) bool
	// RuntimeUint returns the runtime value of key, or def when it is not set; weighted
	// clusters with runtime_key_prefix read their weights through it. When it is nil,
	// the configured weights are used.
	RuntimeUint func(key string, def uint64) uint64
}

// defaultMaxDirectResponseBody is Envoy's default max_direct_response_body_size_bytes.
const defaultMaxDirectResponseBody = 4096

// Table is a compiled RouteConfiguration. It is immutable and safe for concurrent use.
type Table struct {
	name             string
	vhosts           []*VirtualHost
	exact            map[string]*VirtualHost
	suffixes         []wildcardSet // "*.example.com", longest first
	prefixes         []wildcardSet // "www.example.*", longest first
	defaultVH        *VirtualHost  // "*"
	ignorePort       bool
	hostHeader       string
	internalOnly     []string
	reqOps, respOps  headerOps
	mostSpecificWins bool
	validateClusters *bool
	filters          map[string]any
	env              matchEnv
	runtimeUint      func(key string, def uint64) uint64
	sslRedirect      *Entry
	maxBody          int
	source           *routev3.RouteConfiguration
	created          time.Time
}

// Config returns the route configuration the table was built from.
func (t *Table) Config() *routev3.RouteConfiguration { return t.source }

// Created returns when the table was built.
func (t *Table) Created() time.Time { return t.created }

// wildcardSet holds the wildcard domains of one length (without the '*').
type wildcardSet struct {
	n int
	m map[string]*VirtualHost
}

// New validates rc and compiles it into a Table. Unsupported fields and invalid values
// are errors that name the field.
func New(rc *routev3.RouteConfiguration, opts Options) (*Table, error) {
	if rc == nil {
		return nil, errors.New("route config is nil")
	}
	if err := config.Validate(rc); err != nil {
		return nil, fmt.Errorf("route config %q: %w", rc.GetName(), err)
	}
	if err := config.Check(rc); err != nil {
		return nil, fmt.Errorf("route config %q: %w", rc.GetName(), err)
	}
	t, err := build(rc, opts)
	if err != nil {
		return nil, fmt.Errorf("route config %q: %w", rc.GetName(), err)
	}
	t.source, t.created = rc, time.Now()
	return t, nil
}

func build(rc *routev3.RouteConfiguration, opts Options) (*Table, error) {
	t := &Table{
		name:             rc.GetName(),
		exact:            map[string]*VirtualHost{},
		ignorePort:       rc.GetIgnorePortInHostMatching(),
		hostHeader:       header.Authority,
		mostSpecificWins: rc.GetMostSpecificHeaderMutationsWins(),
		runtimeUint:      opts.RuntimeUint,
		maxBody:          defaultMaxDirectResponseBody,
	}
	t.env.runtime = opts.RuntimeFeature
	if t.env.runtime == nil {
		t.env.runtime = func(_ string, def Fraction, random uint64) bool { return def.Enabled(random) }
	}
	if t.runtimeUint == nil {
		t.runtimeUint = func(_ string, def uint64) uint64 { return def }
	}
	if err := t.buildGlobals(rc, opts); err != nil {
		return nil, err
	}
	t.sslRedirect = &Entry{rule: &rule{index: -1, action: ActionRedirect,
		redirect: &redirect{code: 301, sslRedirect: true}}}
	for i, v := range rc.GetVirtualHosts() {
		vh, err := buildVirtualHost(t, i, v, opts)
		if err != nil {
			return nil, at("virtual_hosts["+strconv.Itoa(i)+"]", err)
		}
		if err := t.addDomains(vh, v.GetDomains()); err != nil {
			return nil, at("virtual_hosts["+strconv.Itoa(i)+"].domains", err)
		}
		t.vhosts = append(t.vhosts, vh)
	}
	sort.Slice(t.suffixes, func(i, j int) bool { return t.suffixes[i].n > t.suffixes[j].n })
	sort.Slice(t.prefixes, func(i, j int) bool { return t.prefixes[i].n > t.prefixes[j].n })
	return t, nil
}

func (t *Table) buildGlobals(rc *routev3.RouteConfiguration, opts Options) error {
	if h := rc.GetVhostHeader(); h != "" {
		t.hostHeader = strings.ToLower(h)
	}
	if m := rc.GetMaxDirectResponseBodySizeBytes(); m != nil {
		t.maxBody = int(m.GetValue())
	}
	if vc := rc.GetValidateClusters(); vc != nil {
		v := vc.GetValue()
		t.validateClusters = &v
	}
	for _, h := range rc.GetInternalOnlyHeaders() {
		t.internalOnly = append(t.internalOnly, strings.ToLower(h))
	}
	var err error
	if t.reqOps, err = compileHeaderOps(rc.GetRequestHeadersToAdd(), rc.GetRequestHeadersToRemove(),
		"request_headers_to_add", "request_headers_to_remove"); err != nil {
		return err
	}
	if t.respOps, err = compileHeaderOps(rc.GetResponseHeadersToAdd(), rc.GetResponseHeadersToRemove(),
		"response_headers_to_add", "response_headers_to_remove"); err != nil {
		return err
	}
	t.filters, err = parseFilterConfigs(rc.GetTypedPerFilterConfig(), opts)
	return at("typed_per_filter_config", err)
}

// addDomains indexes vh under its domains, lowercased, as Envoy does: "*" is the
// default, a leading '*' a suffix wildcard, a trailing '*' a prefix wildcard.
func (t *Table) addDomains(vh *VirtualHost, domains []string) error {
	if len(domains) == 0 {
		return errors.New("at least one domain is required")
	}
	for _, d := range domains {
		d = strings.ToLower(d)
		dup := false
		switch {
		case d == "*":
			dup = t.defaultVH != nil
			t.defaultVH = vh
		case strings.HasPrefix(d, "*"):
			dup = addWildcard(&t.suffixes, d[1:], vh)
		case strings.HasSuffix(d, "*"):
			dup = addWildcard(&t.prefixes, d[:len(d)-1], vh)
		case d == "":
			return errors.New("empty domain")
		default:
			_, dup = t.exact[d]
			t.exact[d] = vh
		}
		if dup {
			return fmt.Errorf("domain %q appears more than once in the route config: domains must be unique", d)
		}
	}
	return nil
}

func addWildcard(sets *[]wildcardSet, key string, vh *VirtualHost) bool {
	for i := range *sets {
		if (*sets)[i].n == len(key) {
			if _, dup := (*sets)[i].m[key]; dup {
				return true
			}
			(*sets)[i].m[key] = vh
			return false
		}
	}
	*sets = append(*sets, wildcardSet{n: len(key), m: map[string]*VirtualHost{key: vh}})
	return false
}

func parseFilterConfigs(cfgs map[string]*anypb.Any, opts Options) (map[string]any, error) {
	if len(cfgs) == 0 {
		return nil, nil
	}
	names := make([]string, 0, len(cfgs))
	for name := range cfgs {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make(map[string]any, len(cfgs))
	for _, name := range names {
		if opts.ParseFilterConfig == nil {
			return nil, at("["+name+"]", errors.New("per-filter config is not supported here (no filter config parser)"))
		}
		v, err := opts.ParseFilterConfig(name, cfgs[name])
		if err != nil {
			return nil, at("["+name+"]", err)
		}
		out[name] = v
	}
	return out, nil
}

// Name returns the route configuration's name.
func (t *Table) Name() string { return t.name }

// VirtualHosts returns the virtual hosts in config order. The slice must not be changed.
func (t *Table) VirtualHosts() []*VirtualHost { return t.vhosts }

// InternalOnlyHeaders returns the lowercase headers the connection manager strips from
// external requests (internal_only_headers).
func (t *Table) InternalOnlyHeaders() []string { return t.internalOnly }

// ValidateClusters returns validate_clusters and whether it was set.
func (t *Table) ValidateClusters() (validate, set bool) {
	if t.validateClusters == nil {
		return false, false
	}
	return *t.validateClusters, true
}

// Match returns the entry of the first route that matches the request, or nil when no
// virtual host or no route matches. random is the stream's random value: it decides
// runtime fractions and picks a weighted cluster. info supplies dynamic metadata and
// may be nil. Match does not allocate for plain prefix, path and exact-header routes.
func (t *Table) Match(req *header.Map, info *streaminfo.Info, random uint64) *Entry {
	vh := t.VirtualHostFor(req)
	if vh == nil {
		return nil
	}
	return vh.match(req, info, random)
}

// VirtualHostFor returns the virtual host that serves the request's host (:authority,
// or vhost_header when configured), or nil. Hosts are matched case-insensitively; only
// a host with upper-case letters costs an allocation.
func (t *Table) VirtualHostFor(req *header.Map) *VirtualHost {
	if len(t.exact) == 0 && len(t.suffixes) == 0 && len(t.prefixes) == 0 {
		return t.defaultVH
	}
	host, ok := req.Lookup(t.hostHeader)
	if !ok {
		return nil
	}
	if t.ignorePort {
		if i := portStart(host); i >= 0 {
			host = host[:i]
		}
	}
	return t.lookupHost(asciiLower(host))
}

func (t *Table) lookupHost(host string) *VirtualHost {
	if vh, ok := t.exact[host]; ok {
		return vh
	}
	for _, s := range t.suffixes {
		if s.n < len(host) {
			if vh, ok := s.m[host[len(host)-s.n:]]; ok {
				return vh
			}
		}
	}
	for _, s := range t.prefixes {
		if s.n < len(host) {
			if vh, ok := s.m[host[:s.n]]; ok {
				return vh
			}
		}
	}
	return t.defaultVH
}

// portStart returns the index of the ':' that starts host's port, or -1; a bracketed
// IPv6 literal's colons are not a port.
func portStart(host string) int {
	i := strings.LastIndexByte(host, ':')
	if i < 0 {
		return -1
	}
	if j := strings.LastIndexByte(host, ']'); j > i {
		return -1
	}
	return i
}
