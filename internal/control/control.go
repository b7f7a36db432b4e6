package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/weftmesh/weft/internal/control/ads"
	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
	"github.com/weftmesh/weft/internal/control/xdsgen"
)

// Options say what the control plane reads and how it identifies itself.
type Options struct {
	// Stores hold the Istio config; Registries the services and endpoints.
	Stores     []config.Store
	Registries []registry.Registry
	Mesh       mesh.MeshConfig
	Log        *slog.Logger
	// ID names this control plane instance (the host name by default); Version is
	// weft's version, reported by proxy-status.
	ID, Version string
}

// Server is a control plane: its sources, the snapshot builder, the generators and the
// ADS server, wired as istiod's Pilot.
type Server struct {
	opts Options
	ads  *ads.Server
}

// New builds a control plane over the sources and subscribes it to their changes.
func New(opts Options) (*Server, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.ID == "" {
		if h, err := os.Hostname(); err == nil {
			opts.ID = h
		} else {
			opts.ID = "weft-control"
		}
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := ads.New(ads.Options{
		Generator: xdsGenerator{},
		Validate:  xdsgen.ValidateResource,
		Snapshots: ads.SnapshotFunc(func(version string) *mesh.Snapshot {
			return mesh.Build(version, opts.Stores, opts.Registries, opts.Mesh)
		}),
		Log: opts.Log, Registry: reg, ID: opts.ID, Version: opts.Version,
	})
	if err != nil {
		return nil, err
	}
	// A store's ServiceEntries, WorkloadEntries and WorkloadGroups reach the proxies
	// through the ServiceEntry registry over that store, whose events say whether
	// services changed or only endpoints: as config events too, every WorkloadEntry
	// change would be a full push instead of EDS alone (Istio pushes EDS alone too).
	viaRegistry := map[config.Store]bool{}
	for _, r := range opts.Registries {
		if se, ok := r.(*serviceentry.Registry); ok {
			viaRegistry[se.ConfigStore()] = true
		}
	}
	for _, st := range opts.Stores {
		if !viaRegistry[st] {
			st.Subscribe(srv.ConfigChanged)
			continue
		}
		st.Subscribe(func(e config.Event) {
			if !serviceentry.Consumes(e.Config.Kind) {
				srv.ConfigChanged(e)
			}
		})
	}
	for _, r := range opts.Registries {
		r.Subscribe(srv.RegistryChanged)
	}
	return &Server{opts: opts, ads: srv}, nil
}

// ADS returns the ADS server (for its debug state).
func (s *Server) ADS() *ads.Server { return s.ads }

// xdsGenerator is xdsgen as an ads.SessionGenerator. Validation runs in the ADS
// server, once per distinct resource (ads.Validator), so generation skips it.
type xdsGenerator struct{}

var genOptions = xdsgen.Options{SkipValidation: true}

func (xdsGenerator) Generate(node *mesh.Node, snap *mesh.Snapshot, typeURL string, names []string) ([]ads.Resource, error) {
	return adsResources(genOptions.Generate(node, snap, typeURL, names...))
}

func (xdsGenerator) Session(node *mesh.Node, snap *mesh.Snapshot) func(string, []string) ([]ads.Resource, error) {
	gen := genOptions.Session(node, snap)
	return func(typeURL string, names []string) ([]ads.Resource, error) { return adsResources(gen(typeURL, names)) }
}

func adsResources(rs []xdsgen.Resource, err error) ([]ads.Resource, error) {
	if err != nil {
		return nil, err
	}
	out := make([]ads.Resource, len(rs))
	for i, r := range rs {
		out[i] = ads.Resource(r)
	}
	return out, nil
}

// Serve runs the sources, waits until they have read their config once, calls ready,
// then serves ADS on xds and monitoring on mon until ctx ends or something fails. opts
// go to the ADS server (ads.WithSecureXDS: ADS over TLS on a second listener, which
// the caller closes if Serve returns before serving).
func (s *Server) Serve(ctx context.Context, xds, mon net.Listener, ready func(), opts ...ads.ServeOption) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(s.opts.Stores)+len(s.opts.Registries))
	for _, st := range s.opts.Stores {
		wg.Go(func() { errc <- st.Run(ctx) })
	}
	for _, r := range s.opts.Registries {
		wg.Go(func() { errc <- r.Run(ctx) })
	}
	err := s.waitSynced(ctx, errc)
	if err == nil && ctx.Err() == nil {
		if ready != nil {
			ready()
		}
		err = s.ads.Serve(ctx, xds, mon, opts...)
	} else {
		_ = xds.Close()
		_ = mon.Close()
	}
	cancel()
	wg.Wait()
	return err
}

// waitSynced waits until every store and registry has read its config once, or ctx
// ends.
func (s *Server) waitSynced(ctx context.Context, errc <-chan error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		synced := true
		for _, st := range s.opts.Stores {
			synced = synced && st.HasSynced()
		}
		for _, r := range s.opts.Registries {
			synced = synced && r.HasSynced()
		}
		if synced {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-errc:
			if err == nil {
				err = errors.New("stopped before reading its config")
			}
			return fmt.Errorf("control: %w", err)
		case <-tick.C:
		}
	}
}

// LoadMeshConfig reads the part of an Istio MeshConfig weft honours from a YAML file
// ("" gives the defaults); fields MeshConfig does not have are an error, fields weft
// ignores are not.
func LoadMeshConfig(path string) (mesh.MeshConfig, error) {
	mc := mesh.DefaultMeshConfig()
	if path == "" {
		return mc, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return mc, fmt.Errorf("mesh config: %w", err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return mc, fmt.Errorf("mesh config %s: %w", path, err)
	}
	var m meshv1alpha1.MeshConfig
	if err := protojson.Unmarshal(j, &m); err != nil {
		return mc, fmt.Errorf("mesh config %s: %w", path, err)
	}
	if m.GetRootNamespace() != "" {
		mc.RootNamespace = m.GetRootNamespace()
	}
	if m.GetTrustDomain() != "" {
		mc.TrustDomain = m.GetTrustDomain()
	}
	if m.GetOutboundTrafficPolicy() != nil {
		mc.OutboundAllowAny = m.GetOutboundTrafficPolicy().GetMode() != meshv1alpha1.MeshConfig_OutboundTrafficPolicy_REGISTRY_ONLY
	}
	if m.GetConnectTimeout() != nil {
		mc.ConnectTimeoutMillis = m.GetConnectTimeout().AsDuration().Milliseconds()
	}
	return mc, nil
}
