package ads

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// debugEndpoints lists the debug endpoints, for /debug.
var debugEndpoints = []struct {
	Path string `json:"path"`
	Help string `json:"help"`
}{
	{"/debug/syncz", "per connection and type: nonces and versions sent and ACKed, the last NACK"},
	{"/debug/adsz", "connections with their nodes and subscriptions"},
	{"/debug/configz", "the config objects of the current snapshot"},
	{"/debug/registryz", "the services and endpoints of the current snapshot"},
	{"/debug/config_dump?proxyID=NODE", "what a node holds, as an Envoy ConfigDump (&format=proto for binary)"},
	{"/metrics", "Prometheus metrics"},
}

// Handler serves /metrics and the /debug endpoints, for the monitoring port.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /debug/{$}", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, debugEndpoints) })
	mux.HandleFunc("GET /debug/syncz", s.syncz)
	mux.HandleFunc("GET /debug/adsz", s.adsz)
	mux.HandleFunc("GET /debug/configz", s.configz)
	mux.HandleFunc("GET /debug/registryz", s.registryz)
	mux.HandleFunc("GET /debug/config_dump", s.configDump)
	return mux
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}

func (s *Server) syncz(w http.ResponseWriter, _ *http.Request) {
	out := []SyncStatus{}
	for _, c := range s.connections() {
		out = append(out, c.syncStatus())
	}
	writeJSON(w, out)
}

func (s *Server) adsz(w http.ResponseWriter, _ *http.Request) {
	cs := s.connections()
	out := AdsClients{Total: len(cs)}
	for _, c := range cs {
		out.Connected = append(out.Connected, c.adsClient())
	}
	writeJSON(w, out)
}

// findConnection returns the newest connection of a node, named by node ID,
// name.namespace or connection ID.
func (s *Server) findConnection(id string) *connection {
	var found *connection
	for _, c := range s.connections() {
		if c.node.ID == id || proxyName(c) == id || c.id == id {
			if found == nil || c.connectedAt.After(found.connectedAt) {
				found = c
			}
		}
	}
	return found
}

func (s *Server) configDump(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("proxyID")
	if id == "" {
		http.Error(w, "proxyID is required", http.StatusBadRequest)
		return
	}
	c := s.findConnection(id)
	if c == nil {
		http.Error(w, fmt.Sprintf("node %q is not connected", id), http.StatusNotFound)
		return
	}
	dump, err := c.configDump(s.current.Load())
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	var b []byte
	if r.URL.Query().Get("format") == "proto" {
		w.Header().Set("Content-Type", "application/x-protobuf")
		b, err = proto.Marshal(dump)
	} else {
		w.Header().Set("Content-Type", "application/json")
		b, err = protojson.MarshalOptions{Multiline: true, Indent: "  "}.Marshal(dump)
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	_, _ = w.Write(b)
}

// configDump regenerates, from snap, the resources the node holds, with the version and
// time they were last sent. Generators are pure and every snapshot is pushed to every
// node, so this is what the node was last sent, short of a push still in flight.
func (c *connection) configDump(snap *mesh.Snapshot) (*adminv3.ConfigDump, error) {
	dump := &adminv3.ConfigDump{}
	for _, t := range []string{ClusterType, EndpointType, ListenerType, RouteType, SecretType} {
		w := c.watchCopy(t)
		if w == nil {
			continue
		}
		rs, err := c.generate(w, snap)
		if err != nil {
			return nil, err
		}
		held := rs[:0]
		for _, e := range rs {
			if _, ok := w.sent[e.key]; ok {
				held = append(held, e)
			}
		}
		a, err := anypb.New(dumpSection(w, held))
		if err != nil {
			return nil, fmt.Errorf("config dump: %w", err)
		}
		dump.Configs = append(dump.Configs, a)
	}
	return dump, nil
}

// watchCopy copies a watch for use off the connection's goroutine.
func (c *connection) watchCopy(typeURL string) *watch {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.watches[typeURL]
	if w == nil {
		return nil
	}
	cp := *w
	cp.names, cp.sent = maps.Clone(w.names), maps.Clone(w.sent)
	return &cp
}

func dumpSection(w *watch, rs []encoded) proto.Message {
	v, ts := w.sentVersion, timestamppb.New(w.sentTime)
	switch w.typeURL {
	case ClusterType:
		d := &adminv3.ClustersConfigDump{VersionInfo: w.ackedVersion}
		for _, e := range rs {
			d.DynamicActiveClusters = append(d.DynamicActiveClusters,
				&adminv3.ClustersConfigDump_DynamicCluster{VersionInfo: v, Cluster: e.any, LastUpdated: ts})
		}
		return d
	case EndpointType:
		d := &adminv3.EndpointsConfigDump{}
		for _, e := range rs {
			d.DynamicEndpointConfigs = append(d.DynamicEndpointConfigs,
				&adminv3.EndpointsConfigDump_DynamicEndpointConfig{VersionInfo: v, EndpointConfig: e.any, LastUpdated: ts})
		}
		return d
	case ListenerType:
		d := &adminv3.ListenersConfigDump{VersionInfo: w.ackedVersion}
		for _, e := range rs {
			d.DynamicListeners = append(d.DynamicListeners, &adminv3.ListenersConfigDump_DynamicListener{Name: e.name,
				ActiveState: &adminv3.ListenersConfigDump_DynamicListenerState{VersionInfo: v, Listener: e.any, LastUpdated: ts}})
		}
		return d
	case RouteType:
		d := &adminv3.RoutesConfigDump{}
		for _, e := range rs {
			d.DynamicRouteConfigs = append(d.DynamicRouteConfigs,
				&adminv3.RoutesConfigDump_DynamicRouteConfig{VersionInfo: v, RouteConfig: e.any, LastUpdated: ts})
		}
		return d
	}
	d := &adminv3.SecretsConfigDump{}
	for _, e := range rs {
		d.DynamicActiveSecrets = append(d.DynamicActiveSecrets,
			&adminv3.SecretsConfigDump_DynamicSecret{Name: e.name, VersionInfo: v, LastUpdated: ts, Secret: e.any})
	}
	return d
}
