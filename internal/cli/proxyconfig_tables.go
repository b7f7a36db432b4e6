package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/structpb"
)

// dumped is a ConfigDump's dynamic resources, decoded.
type dumped struct {
	clusters  []*clusterv3.Cluster
	listeners []*listenerv3.Listener
	routes    []*routev3.RouteConfiguration
	endpoints []*endpointv3.ClusterLoadAssignment
}

// readDump decodes the sections of a ConfigDump the tables show. It reads the binary
// dump: typed configs nested in the resources stay bytes until a table decodes one, so
// config of filters this binary does not know still prints.
func readDump(d *adminv3.ConfigDump) (*dumped, error) {
	out := &dumped{}
	for _, a := range d.GetConfigs() {
		var err error
		switch a.GetTypeUrl() {
		case adminPrefix + "ClustersConfigDump":
			var s adminv3.ClustersConfigDump
			err = a.UnmarshalTo(&s)
			for _, c := range s.GetDynamicActiveClusters() {
				out.clusters, err = appendAs(out.clusters, c.GetCluster(), &clusterv3.Cluster{}, err)
			}
		case adminPrefix + "ListenersConfigDump":
			var s adminv3.ListenersConfigDump
			err = a.UnmarshalTo(&s)
			for _, l := range s.GetDynamicListeners() {
				out.listeners, err = appendAs(out.listeners, l.GetActiveState().GetListener(), &listenerv3.Listener{}, err)
			}
		case adminPrefix + "RoutesConfigDump":
			var s adminv3.RoutesConfigDump
			err = a.UnmarshalTo(&s)
			for _, r := range s.GetDynamicRouteConfigs() {
				out.routes, err = appendAs(out.routes, r.GetRouteConfig(), &routev3.RouteConfiguration{}, err)
			}
		case adminPrefix + "EndpointsConfigDump":
			var s adminv3.EndpointsConfigDump
			err = a.UnmarshalTo(&s)
			for _, e := range s.GetDynamicEndpointConfigs() {
				out.endpoints, err = appendAs(out.endpoints, e.GetEndpointConfig(), &endpointv3.ClusterLoadAssignment{}, err)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", strings.TrimPrefix(a.GetTypeUrl(), adminPrefix), err)
		}
	}
	return out, nil
}

// appendAs decodes a into m and appends it, unless an earlier error stands.
func appendAs[M proto.Message](list []M, a *anypb.Any, m M, err error) ([]M, error) {
	if err != nil || a == nil {
		return list, err
	}
	if err := a.UnmarshalTo(m); err != nil {
		return list, err
	}
	return append(list, m), nil
}

// writeConfigTables prints the tables of one kind, or all four for "all".
func writeConfigTables(w io.Writer, dump *adminv3.ConfigDump, kind string) error {
	d, err := readDump(dump)
	if err != nil {
		return err
	}
	tables := map[string]func(*tabwriter.Writer, *dumped){
		"clusters": writeClusters, "listeners": writeListeners, "routes": writeRoutes, "endpoints": writeEndpoints,
	}
	order := []string{kind}
	if kind == "all" {
		order = []string{"clusters", "listeners", "routes", "endpoints"}
	}
	for i, k := range order {
		if i > 0 {
			fmt.Fprintln(w)
		}
		if err := writeTable(w, func(tw *tabwriter.Writer) { tables[k](tw, d) }); err != nil {
			return err
		}
	}
	return nil
}

// writeTable lays out the rows fill writes as aligned columns, without the trailing
// blanks an empty last column leaves.
func writeTable(w io.Writer, fill func(*tabwriter.Writer)) error {
	var buf bytes.Buffer
	tw := tabwriter.NewWriter(&buf, 0, 8, 3, ' ', 0)
	fill(tw)
	if err := tw.Flush(); err != nil {
		return err
	}
	for line := range strings.Lines(buf.String()) {
		if _, err := io.WriteString(w, strings.TrimRight(line, " \n")+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// istioConfig names the Istio object a resource came from, as istioctl does: Istio
// records it in filter metadata istio.config as
// /apis/networking.istio.io/v1/namespaces/NS/KIND/NAME; it prints as NAME.NS.
func istioConfig(md interface {
	GetFilterMetadata() map[string]*structpb.Struct
}) string {
	path := md.GetFilterMetadata()["istio"].GetFields()["config"].GetStringValue()
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) < 7 || parts[3] != "namespaces" {
		return ""
	}
	return parts[6] + "." + parts[4]
}
