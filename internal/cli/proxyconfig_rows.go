package cli

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/proto"
)

// clusterRow is a cluster name taken apart: Istio names clusters
// direction|port|subset|fqdn.
type clusterRow struct {
	fqdn, port, subset, direction, typ, dr string
}

func newClusterRow(c *clusterv3.Cluster) clusterRow {
	r := clusterRow{fqdn: c.GetName(), port: "-", subset: "-", direction: "-", typ: c.GetType().String(), dr: istioConfig(c.GetMetadata())}
	if ct := c.GetClusterType(); ct != nil {
		r.typ = ct.GetName()
	}
	if parts := strings.Split(c.GetName(), "|"); len(parts) == 4 {
		r.direction, r.port, r.fqdn = parts[0], parts[1], parts[3]
		if parts[2] != "" {
			r.subset = parts[2]
		}
	}
	return r
}

func writeClusters(tw *tabwriter.Writer, d *dumped) {
	rows := make([]clusterRow, 0, len(d.clusters))
	for _, c := range d.clusters {
		rows = append(rows, newClusterRow(c))
	}
	slices.SortFunc(rows, func(a, b clusterRow) int {
		return cmp.Or(cmp.Compare(a.fqdn, b.fqdn), cmpNumeric(a.port, b.port), cmp.Compare(a.subset, b.subset),
			cmp.Compare(a.direction, b.direction))
	})
	fmt.Fprintln(tw, "SERVICE FQDN\tPORT\tSUBSET\tDIRECTION\tTYPE\tDESTINATION RULE")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.fqdn, r.port, r.subset, r.direction, r.typ, r.dr)
	}
}

// cmpNumeric orders numbers by value and puts anything else after them.
func cmpNumeric(a, b string) int {
	na, ea := strconv.Atoi(a)
	nb, eb := strconv.Atoi(b)
	switch {
	case ea == nil && eb == nil:
		return cmp.Compare(na, nb)
	case ea == nil:
		return -1
	case eb == nil:
		return 1
	}
	return cmp.Compare(a, b)
}

func writeListeners(tw *tabwriter.Writer, d *dumped) {
	ls := slices.Clone(d.listeners)
	slices.SortStableFunc(ls, func(a, b *listenerv3.Listener) int {
		pa, pb := a.GetAddress().GetSocketAddress(), b.GetAddress().GetSocketAddress()
		return cmp.Or(cmp.Compare(pa.GetPortValue(), pb.GetPortValue()), cmp.Compare(pa.GetAddress(), pb.GetAddress()),
			cmp.Compare(a.GetName(), b.GetName()))
	})
	fmt.Fprintln(tw, "ADDRESS\tPORT\tMATCH\tDESTINATION")
	for _, l := range ls {
		addr, port := listenerAddress(l)
		chains := slices.Clone(l.GetFilterChains())
		if dc := l.GetDefaultFilterChain(); dc != nil {
			chains = append(chains, dc)
		}
		if len(chains) == 0 {
			dest := "-"
			if api := l.GetApiListener().GetApiListener(); api != nil {
				dest = hcmDestination(api.GetValue())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", addr, port, "ALL", dest)
		}
		for _, fc := range chains {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", addr, port, describeChainMatch(fc.GetFilterChainMatch()), chainDestination(fc))
		}
	}
}

// listenerAddress is a listener's address and port; an API listener (proxyless gRPC)
// has neither and shows its name.
func listenerAddress(l *listenerv3.Listener) (string, string) {
	sa := l.GetAddress().GetSocketAddress()
	switch {
	case sa != nil:
		return sa.GetAddress(), strconv.FormatUint(uint64(sa.GetPortValue()), 10)
	case l.GetAddress().GetPipe() != nil:
		return l.GetAddress().GetPipe().GetPath(), "-"
	}
	return l.GetName(), "-"
}

// describeChainMatch says what a filter chain matches, in istioctl's words.
func describeChainMatch(m *listenerv3.FilterChainMatch) string {
	var parts []string
	if rs := m.GetPrefixRanges(); len(rs) > 0 {
		parts = append(parts, "Addr: "+cidrs(rs))
	}
	if p := m.GetDestinationPort(); p != nil {
		parts = append(parts, "Port: "+strconv.FormatUint(uint64(p.GetValue()), 10))
	}
	if rs := m.GetSourcePrefixRanges(); len(rs) > 0 {
		parts = append(parts, "Src: "+cidrs(rs))
	}
	if sni := m.GetServerNames(); len(sni) > 0 {
		parts = append(parts, "SNI: "+strings.Join(sni, ","))
	}
	if t := m.GetTransportProtocol(); t != "" {
		parts = append(parts, "Trans: "+t)
	}
	if app := m.GetApplicationProtocols(); len(app) > 0 {
		parts = append(parts, "App: "+strings.Join(app, ","))
	}
	if len(parts) == 0 {
		return "ALL"
	}
	return strings.Join(parts, "; ")
}

func cidrs(rs []*corev3.CidrRange) string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.GetAddressPrefix() + "/" + strconv.FormatUint(uint64(r.GetPrefixLen().GetValue()), 10)
	}
	return strings.Join(out, ",")
}

// chainDestination says where a filter chain sends traffic: the route configuration of
// its HTTP connection manager or the cluster of its TCP proxy.
func chainDestination(fc *listenerv3.FilterChain) string {
	for _, f := range slices.Backward(fc.GetFilters()) {
		tc := f.GetTypedConfig()
		switch tc.GetTypeUrl() {
		case "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager":
			return hcmDestination(tc.GetValue())
		case "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy":
			var tp tcpproxyv3.TcpProxy
			if err := tc.UnmarshalTo(&tp); err != nil {
				return "TCP: invalid config"
			}
			if c := tp.GetCluster(); c != "" {
				return "Cluster: " + c
			}
			var names []string
			for _, wc := range tp.GetWeightedClusters().GetClusters() {
				names = append(names, wc.GetName())
			}
			return "Cluster: " + strings.Join(names, ",")
		}
	}
	return "Non-HTTP/Non-TCP"
}

func hcmDestination(b []byte) string {
	var hcm hcmv3.HttpConnectionManager
	if err := proto.Unmarshal(b, &hcm); err != nil {
		return "HTTP: invalid config"
	}
	if rds := hcm.GetRds(); rds != nil {
		return "Route: " + rds.GetRouteConfigName()
	}
	if rc := hcm.GetRouteConfig(); rc != nil {
		return "Inline Route: " + rc.GetName()
	}
	return "HTTP"
}

func writeRoutes(tw *tabwriter.Writer, d *dumped) {
	rcs := slices.Clone(d.routes)
	slices.SortStableFunc(rcs, func(a, b *routev3.RouteConfiguration) int { return cmpNumeric(a.GetName(), b.GetName()) })
	fmt.Fprintln(tw, "NAME\tDOMAINS\tMATCH\tVIRTUAL SERVICE")
	for _, rc := range rcs {
		for _, vh := range rc.GetVirtualHosts() {
			for _, r := range vh.GetRoutes() {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", rc.GetName(), describeDomains(vh.GetDomains()),
					describeRouteMatch(r.GetMatch()), istioConfig(r.GetMetadata()))
			}
		}
	}
}

// describeDomains shows a virtual host's first domain and how many more it has.
func describeDomains(ds []string) string {
	switch len(ds) {
	case 0:
		return "-"
	case 1:
		return ds[0]
	}
	return fmt.Sprintf("%s +%d more", ds[0], len(ds)-1)
}

func describeRouteMatch(m *routev3.RouteMatch) string {
	switch {
	case m.GetPrefix() != "":
		return m.GetPrefix() + "*"
	case m.GetPath() != "":
		return m.GetPath()
	case m.GetSafeRegex() != nil:
		return m.GetSafeRegex().GetRegex()
	case m.GetPathSeparatedPrefix() != "":
		return m.GetPathSeparatedPrefix() + "/*"
	case m.GetConnectMatcher() != nil:
		return "CONNECT"
	}
	return "/*"
}

func writeEndpoints(tw *tabwriter.Writer, d *dumped) {
	type row struct{ endpoint, status, cluster string }
	var rows []row
	for _, cla := range d.endpoints {
		for _, lle := range cla.GetEndpoints() {
			for _, e := range lle.GetLbEndpoints() {
				sa := e.GetEndpoint().GetAddress().GetSocketAddress()
				status := e.GetHealthStatus()
				s := status.String()
				if status == corev3.HealthStatus_UNKNOWN {
					s = "HEALTHY" // the proxy takes it as healthy until it learns otherwise
				}
				ep := sa.GetAddress() + ":" + strconv.FormatUint(uint64(sa.GetPortValue()), 10)
				rows = append(rows, row{ep, s, cla.GetClusterName()})
			}
		}
	}
	slices.SortFunc(rows, func(a, b row) int {
		return cmp.Or(cmp.Compare(a.endpoint, b.endpoint), cmp.Compare(a.cluster, b.cluster))
	})
	// OUTLIER CHECK: outlier ejection happens in the proxy; the control plane cannot see it.
	fmt.Fprintln(tw, "ENDPOINT\tSTATUS\tOUTLIER CHECK\tCLUSTER")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.endpoint, r.status, "-", r.cluster)
	}
}
