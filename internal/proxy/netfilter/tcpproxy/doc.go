// Package tcpproxy is the tcp_proxy network filter (envoy.filters.network.tcp_proxy):
// it connects each downstream connection to a host of a cluster (or of weighted
// clusters) and copies bytes both ways, with half-close, an idle timeout, access logs
// and tcp.<stat_prefix>.* stats. It imports netfilter, upstream, accesslog and stats.
package tcpproxy
