package hcm

import (
	"fmt"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/proxy/accesslog"
	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
	"github.com/weftmesh/weft/internal/proxy/route"
	"github.com/weftmesh/weft/internal/proxy/runtime"
)

// TypeURL is the type URL of the connection manager's config.
const TypeURL = "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager"

func init() {
	netfilter.Register(netfilter.Registration{
		TypeURL:   TypeURL,
		Names:     []string{"envoy.filters.network.http_connection_manager", "envoy.http_connection_manager"},
		NewConfig: func() proto.Message { return &hcmv3.HttpConnectionManager{} },
		New: func(cfg proto.Message, deps *netfilter.Deps, _ netfilter.Handler) (netfilter.Handler, error) {
			return New(cfg.(*hcmv3.HttpConnectionManager), deps)
		},
		Terminal: true,
	})
	config.Support(&hcmv3.HttpConnectionManager{}, "codec_type", "stat_prefix", "route_config", "http_filters",
		"server_name", "server_header_transformation", "generate_request_id", "preserve_external_request_id",
		"use_remote_address", "xff_num_trusted_hops", "skip_xff_append", "via", "max_request_headers_kb",
		"common_http_protocol_options", "http_protocol_options", "http2_protocol_options",
		"stream_idle_timeout", "request_timeout", "request_headers_timeout", "drain_timeout", "rds",
		"delayed_close_timeout", "access_log", "upgrade_configs")
	config.Support(&hcmv3.HttpFilter{}, "name", "typed_config")
	config.Support(&hcmv3.Rds{}, "config_source", "route_config_name")
	config.Support(&hcmv3.HttpConnectionManager_UpgradeConfig{}, "upgrade_type", "enabled")
	config.Support(&corev3.HttpProtocolOptions{}, "idle_timeout", "max_connection_duration", "max_headers_count",
		"max_stream_duration", "max_requests_per_connection")
	config.Support(&corev3.Http1ProtocolOptions{}, "accept_http_10", "default_host_for_http_10")
	config.Support(&corev3.Http2ProtocolOptions{}, "max_concurrent_streams", "initial_stream_window_size",
		"initial_connection_window_size")
}

// Manager is one configured connection manager. It is immutable and serves every
// connection of its filter chain.
type Manager struct {
	codec     hcmv3.HttpConnectionManager_CodecType
	stats     *Stats
	routes    *route.Table    // inline route_config
	rds       *route.Provider // rds: the table arrives from xDS
	filters   []httpfilter.Filter
	encoders  []httpfilter.Encoder
	loggers   []httpfilter.Logger
	accessLog accesslog.Logger

	server             httpfilter.Server
	generateRequestID  bool
	preserveExternalID bool
	useRemoteAddress   bool
	xffTrustedHops     int
	skipXffAppend      bool
	via                string
	maxHeaderBytes     int
	maxHeaders         int
	accept10           bool
	default10Host      string
	websocket          bool
	connect            bool

	idleTimeout       time.Duration
	maxConnDuration   time.Duration
	maxStreamDuration time.Duration
	streamIdleTimeout time.Duration
	requestTimeout    time.Duration
	headersTimeout    time.Duration
	drainTimeout      time.Duration
	delayedClose      time.Duration

	rematchFn func(*httpfilter.Stream) *route.Entry // m.rematch, bound once

	h2MaxStreams    uint32
	h2StreamWindow  uint32
	h2ConnWindow    uint32
	maxRequestsConn int
}

// New builds a connection manager from its config.
func New(cfg *hcmv3.HttpConnectionManager, deps *netfilter.Deps) (*Manager, error) {
	if cfg.GetCodecType() == hcmv3.HttpConnectionManager_HTTP3 {
		return nil, fmt.Errorf("codec_type: HTTP3 is not supported by weft (AUTO, HTTP1, HTTP2)")
	}
	scope := deps.Stats.Scope("http." + cfg.GetStatPrefix() + ".")
	m := &Manager{
		codec:              cfg.GetCodecType(),
		stats:              newStats(scope).withListener(deps.ListenerScope.Scope("http." + cfg.GetStatPrefix() + ".")),
		server:             httpfilter.Server{Name: "envoy"},
		generateRequestID:  cfg.GetGenerateRequestId() == nil || cfg.GetGenerateRequestId().GetValue(),
		preserveExternalID: cfg.GetPreserveExternalRequestId(),
		useRemoteAddress:   cfg.GetUseRemoteAddress().GetValue(),
		xffTrustedHops:     int(cfg.GetXffNumTrustedHops()),
		skipXffAppend:      cfg.GetSkipXffAppend(),
		via:                cfg.GetVia(),
		maxHeaderBytes:     60 << 10,
		maxHeaders:         100,
		streamIdleTimeout:  5 * time.Minute,
		idleTimeout:        time.Hour,
		drainTimeout:       5 * time.Second,
		delayedClose:       time.Second,
	}
	if err := m.limits(cfg); err != nil {
		return nil, err
	}
	if err := m.upgrades(cfg); err != nil {
		return nil, err
	}
	m.serverHeader(cfg)
	m.rematchFn = m.rematch
	deps2 := &httpfilter.Deps{Clusters: deps.Clusters, Stats: deps.Stats, StatPrefix: "http." + cfg.GetStatPrefix() + ".", Runtime: deps.Runtime}
	if err := m.buildFilters(cfg.GetHttpFilters(), deps2); err != nil {
		return nil, err
	}
	if err := m.routeSource(cfg, deps); err != nil {
		return nil, err
	}
	var err error
	if m.accessLog, err = accesslog.New(cfg.GetAccessLog(), deps.AccessLogs); err != nil {
		return nil, fmt.Errorf("access_log: %w", err)
	}
	return m, nil
}

// limits reads the size limits and timeouts.
func (m *Manager) limits(cfg *hcmv3.HttpConnectionManager) error {
	if kb := cfg.GetMaxRequestHeadersKb(); kb != nil {
		m.maxHeaderBytes = int(kb.GetValue()) << 10
	}
	if c := cfg.GetCommonHttpProtocolOptions(); c != nil {
		if n := c.GetMaxHeadersCount(); n != nil {
			m.maxHeaders = int(n.GetValue())
		}
		durationOr(&m.idleTimeout, c.GetIdleTimeout())
		durationOr(&m.maxConnDuration, c.GetMaxConnectionDuration())
		durationOr(&m.maxStreamDuration, c.GetMaxStreamDuration())
		if n := c.GetMaxRequestsPerConnection(); n != nil {
			m.maxRequestsConn = int(n.GetValue())
		}
	}
	durationOr(&m.streamIdleTimeout, cfg.GetStreamIdleTimeout())
	durationOr(&m.requestTimeout, cfg.GetRequestTimeout())
	durationOr(&m.headersTimeout, cfg.GetRequestHeadersTimeout())
	durationOr(&m.drainTimeout, cfg.GetDrainTimeout())
	durationOr(&m.delayedClose, cfg.GetDelayedCloseTimeout())
	if o := cfg.GetHttpProtocolOptions(); o != nil {
		m.accept10 = o.GetAcceptHttp_10()
		m.default10Host = o.GetDefaultHostForHttp_10()
	}
	if o := cfg.GetHttp2ProtocolOptions(); o != nil {
		m.h2MaxStreams = o.GetMaxConcurrentStreams().GetValue()
		m.h2StreamWindow = o.GetInitialStreamWindowSize().GetValue()
		m.h2ConnWindow = o.GetInitialConnectionWindowSize().GetValue()
	}
	return nil
}

func durationOr(dst *time.Duration, d interface {
	AsDuration() time.Duration
	IsValid() bool
}) {
	if d != nil && d.IsValid() {
		*dst = d.AsDuration()
	}
}

// upgrades reads upgrade_configs: websocket and CONNECT are refused unless enabled.
func (m *Manager) upgrades(cfg *hcmv3.HttpConnectionManager) error {
	for i, u := range cfg.GetUpgradeConfigs() {
		on := u.GetEnabled() == nil || u.GetEnabled().GetValue()
		switch t := u.GetUpgradeType(); {
		case equalFold(t, "websocket"):
			m.websocket = on
		case equalFold(t, "CONNECT"):
			m.connect = on
		default:
			return fmt.Errorf("upgrade_configs[%d].upgrade_type: %q is not supported", i, t)
		}
	}
	return nil
}

func (m *Manager) serverHeader(cfg *hcmv3.HttpConnectionManager) {
	if n := cfg.GetServerName(); n != "" {
		m.server.Name = n
	}
	switch cfg.GetServerHeaderTransformation() {
	case hcmv3.HttpConnectionManager_PASS_THROUGH:
		m.server.Name = ""
	case hcmv3.HttpConnectionManager_APPEND_IF_ABSENT:
		m.server.IfAbsent = true
	}
}

// buildFilters builds the HTTP filters; the router must be last.
func (m *Manager) buildFilters(fs []*hcmv3.HttpFilter, deps *httpfilter.Deps) error {
	if len(fs) == 0 {
		return fmt.Errorf("http_filters: at least the router is required")
	}
	for i, f := range fs {
		reg, err := httpfilter.Lookup(f.GetName(), f.GetTypedConfig())
		if err != nil {
			return fmt.Errorf("http_filters[%d]: %w", i, err)
		}
		if last := i == len(fs)-1; reg.Terminal != last {
			return fmt.Errorf("http_filters[%d] %q: the router must be the last http filter", i, f.GetName())
		}
		cfg := reg.NewConfig()
		if f.GetTypedConfig() != nil {
			if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
				return fmt.Errorf("http_filters[%d] %q: %w", i, f.GetName(), err)
			}
		}
		flt, err := reg.New(cfg, deps)
		if err != nil {
			return fmt.Errorf("http_filters[%d] %q: %w", i, f.GetName(), err)
		}
		m.filters = append(m.filters, flt)
		if e, ok := flt.(httpfilter.Encoder); ok {
			m.encoders = append(m.encoders, e)
		}
		if l, ok := flt.(httpfilter.Logger); ok {
			m.loggers = append(m.loggers, l)
		}
	}
	return nil
}

// routeSource sets up the inline route table, or the RDS provider to read it from.
func (m *Manager) routeSource(cfg *hcmv3.HttpConnectionManager, deps *netfilter.Deps) error {
	if rds := cfg.GetRds(); rds != nil {
		if rds.GetConfigSource().GetAds() == nil {
			return fmt.Errorf("rds.config_source: only ads is supported")
		}
		if deps.Routes == nil {
			return fmt.Errorf("rds: route discovery needs an xDS client (dynamic_resources)")
		}
		m.rds = deps.Routes.Get(rds.GetRouteConfigName())
		return nil
	}
	rc := cfg.GetRouteConfig()
	if rc == nil {
		return fmt.Errorf("route_config: one of route_config and rds is required")
	}
	t, err := route.New(rc, RouteOptions(deps.Runtime))
	if err != nil {
		return fmt.Errorf("route_config: %w", err)
	}
	m.routes = t
	return nil
}

// RDSName returns the route configuration name the manager reads from RDS ("" when
// its routes are inline).
func (m *Manager) RDSName() string {
	if m.rds == nil {
		return ""
	}
	return m.rds.Name()
}

// table returns the current route table: inline, or the last one RDS delivered.
func (m *Manager) table() *route.Table {
	if m.rds != nil {
		return m.rds.Table()
	}
	return m.routes
}

// RouteOptions connects route tables to the runtime: runtime_fraction matches and
// weighted-cluster runtime keys read it.
func RouteOptions(rt *runtime.Store) route.Options {
	opts := route.Options{ParseFilterConfig: parsePerFilter}
	if rt == nil {
		return opts
	}
	opts.RuntimeFeature = func(key string, def route.Fraction, random uint64) bool {
		return rt.FeatureEnabled(key, runtime.Fraction{Numerator: uint32(def.Numerator), Denominator: uint32(def.Denominator)}, random)
	}
	opts.RuntimeUint = rt.Uint
	return opts
}

// parsePerFilter parses typed_per_filter_config through the filter's registration.
func parsePerFilter(name string, cfg *anypb.Any) (any, error) {
	reg, ok := httpfilter.LookupName(name)
	if !ok || reg.PerRoute == nil {
		return nil, fmt.Errorf("typed_per_filter_config[%s]: filter has no per-route config in weft", name)
	}
	return reg.PerRoute(cfg)
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i]|0x20, b[i]|0x20
		if x != y {
			return false
		}
	}
	return true
}
