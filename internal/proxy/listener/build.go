package listener

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	httpinspv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/http_inspector/v3"
	origdstv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/original_dst/v3"
	tlsinspv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/listener/tls_inspector/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/netfilter"
)

func init() {
	config.Support(&listenerv3.Listener{}, "name", "address", "filter_chains", "default_filter_chain",
		"listener_filters", "listener_filters_timeout", "continue_on_listener_filters_timeout",
		"use_original_dst", "bind_to_port", "per_connection_buffer_limit_bytes", "stat_prefix",
		"traffic_direction", "metadata", "enable_reuse_port")
	config.Support(&listenerv3.FilterChain{}, "filter_chain_match", "filters", "transport_socket", "name", "metadata")
	config.Support(&listenerv3.FilterChainMatch{}, "destination_port", "prefix_ranges", "server_names",
		"transport_protocol", "application_protocols", "direct_source_prefix_ranges", "source_type",
		"source_prefix_ranges", "source_ports")
	config.Support(&corev3.CidrRange{}, "address_prefix", "prefix_len")
	config.Support(&listenerv3.ListenerFilter{}, "name", "typed_config")
	config.Support(&origdstv3.OriginalDst{})
	config.Support(&tlsinspv3.TlsInspector{})
	config.Support(&httpinspv3.HttpInspector{})
}

// Listener filter kinds.
type inspector int

const (
	inspectOriginalDst inspector = iota
	inspectTLS
	inspectHTTP
)

// Type URLs and names of the listener filters.
var listenerFilters = map[string]inspector{
	"type.googleapis.com/envoy.extensions.filters.listener.original_dst.v3.OriginalDst":     inspectOriginalDst,
	"type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector":   inspectTLS,
	"type.googleapis.com/envoy.extensions.filters.listener.http_inspector.v3.HttpInspector": inspectHTTP,
	"envoy.filters.listener.original_dst":                                                   inspectOriginalDst,
	"envoy.filters.listener.tls_inspector":                                                  inspectTLS,
	"envoy.filters.listener.http_inspector":                                                 inspectHTTP,
	"envoy.listener.original_dst":                                                           inspectOriginalDst,
	"envoy.listener.tls_inspector":                                                          inspectTLS,
	"envoy.listener.http_inspector":                                                         inspectHTTP,
}

// settings is a listener's compiled config: everything but its socket. It is
// immutable; an update swaps in a new one and connections keep the one they started with.
type settings struct {
	config         *listenerv3.Listener
	inspectors     []inspector
	inspectTimeout time.Duration
	continueOnTO   bool
	useOriginalDst bool
	chains         []*filterChain
	defaultChain   *filterChain
	// drain is closed when connections served with these settings must finish: the
	// listener drains, or an update replaced the settings.
	drain     chan struct{}
	drainOnce sync.Once
}

// startDrain tells the connections of this generation to finish.
func (st *settings) startDrain() { st.drainOnce.Do(func() { close(st.drain) }) }

// build compiles a Listener's filters and filter chains.
func (m *Manager) build(cfg *listenerv3.Listener, scope string) (*settings, error) {
	st := &settings{config: cfg, inspectTimeout: 15 * time.Second, useOriginalDst: cfg.GetUseOriginalDst().GetValue(),
		drain: make(chan struct{})}
	if d := cfg.GetListenerFiltersTimeout(); d != nil {
		st.inspectTimeout = d.AsDuration()
	}
	st.continueOnTO = cfg.GetContinueOnListenerFiltersTimeout()
	for i, f := range cfg.GetListenerFilters() {
		key := f.GetName()
		if f.GetTypedConfig() != nil {
			key = f.GetTypedConfig().GetTypeUrl()
		}
		k, ok := listenerFilters[key]
		if !ok {
			return nil, fmt.Errorf("listener_filters[%d] %q: %s is not supported", i, f.GetName(), key)
		}
		st.inspectors = append(st.inspectors, k)
	}
	if err := checkDuplicates(cfg.GetFilterChains()); err != nil {
		return nil, err
	}
	deps := &netfilter.Deps{Clusters: m.opts.Clusters, Stats: m.opts.Stats, AccessLogs: m.opts.AccessLogs,
		ListenerName: cfg.GetName(), ListenerScope: m.opts.Stats.Scope(scope), Runtime: m.opts.Runtime, Routes: m.opts.Routes}
	for i, fc := range cfg.GetFilterChains() {
		c, err := m.buildChain(fc, deps)
		if err != nil {
			return nil, fmt.Errorf("filter_chains[%d]: %w", i, err)
		}
		st.chains = append(st.chains, c)
	}
	if fc := cfg.GetDefaultFilterChain(); fc != nil {
		c, err := m.buildChain(fc, deps)
		if err != nil {
			return nil, fmt.Errorf("default_filter_chain: %w", err)
		}
		st.defaultChain = c
	}
	if len(st.chains) == 0 && st.defaultChain == nil {
		return nil, fmt.Errorf("filter_chains: a listener needs at least one filter chain")
	}
	return st, nil
}

func (m *Manager) buildChain(fc *listenerv3.FilterChain, deps *netfilter.Deps) (*filterChain, error) {
	match, err := compileMatch(fc.GetFilterChainMatch())
	if err != nil {
		return nil, fmt.Errorf("filter_chain_match.%w", err)
	}
	c := &filterChain{name: fc.GetName(), match: match}
	if c.tls, err = m.serverTLS(fc.GetTransportSocket()); err != nil {
		return nil, fmt.Errorf("transport_socket: %w", err)
	}
	if c.handler, err = netfilter.Build(fc.GetFilters(), deps); err != nil {
		return nil, err
	}
	return c, nil
}

// serverTLS returns the TLS config that terminates TLS for a chain, or nil.
func (m *Manager) serverTLS(ts *corev3.TransportSocket) (*tls.Config, error) {
	if ts == nil {
		return nil, nil
	}
	switch ts.GetTypedConfig().GetTypeUrl() {
	case "type.googleapis.com/envoy.extensions.transport_sockets.raw_buffer.v3.RawBuffer":
		return nil, nil
	case "type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext":
		var dc tlsv3.DownstreamTlsContext
		if err := ts.GetTypedConfig().UnmarshalTo(&dc); err != nil {
			return nil, err
		}
		return m.opts.Secrets.ServerConfig(&dc)
	}
	return nil, fmt.Errorf("%s (%s): not supported", ts.GetName(), ts.GetTypedConfig().GetTypeUrl())
}

// statName is Envoy's stat name of a listener address: "0.0.0.0_15001", "[__]_15001".
func statName(a netip.AddrPort) string {
	ip := a.Addr().String()
	if a.Addr().Is6() {
		ip = "[" + strings.ReplaceAll(ip, ":", "_") + "]"
	}
	return fmt.Sprintf("%s_%d", ip, a.Port())
}
