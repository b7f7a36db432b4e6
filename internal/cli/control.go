package cli

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
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"
	meshv1alpha1 "istio.io/api/mesh/v1alpha1"
	"sigs.k8s.io/yaml"

	"github.com/weftmesh/weft/internal/control/ads"
	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
	"github.com/weftmesh/weft/internal/control/xdsgen"
)

type controlFlags struct {
	configDir  string
	xdsAddr    string
	monAddr    string
	meshConfig string
	logLevel   string
}

func newControlCmd() *cobra.Command {
	var f controlFlags
	cmd := &cobra.Command{
		Use:   "control",
		Short: "Run the control plane (istiod's role): Istio config in, Envoy xDS out over ADS",
		Long: `Run the control plane: read Istio config (VirtualService, DestinationRule, Gateway,
ServiceEntry, WorkloadEntry, Sidecar, ...) from a directory, watched for changes; take
services and endpoints from its ServiceEntries and WorkloadEntries; serve ADS (state of
the world and delta) on --xds-address, and /metrics and /debug/* (syncz, adsz, configz,
registryz, config_dump) on --monitoring-address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runControl(cmd.Context(), f, nil) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configDir, "config-dir", "", "directory of Istio YAML, read recursively and watched (required)")
	fl.StringVar(&f.xdsAddr, "xds-address", "127.0.0.1:15010", "address of the ADS server (plaintext gRPC)")
	fl.StringVar(&f.monAddr, "monitoring-address", ":15014", "address of /metrics and the /debug endpoints")
	fl.StringVar(&f.meshConfig, "mesh-config", "", "Istio MeshConfig YAML (rootNamespace, trustDomain, outboundTrafficPolicy, connectTimeout)")
	fl.StringVarP(&f.logLevel, "log-level", "l", "info", "log level: debug, info, warning, error")
	_ = cmd.MarkFlagRequired("config-dir")
	return cmd
}

// controlSources are the config stores and service registries the control plane reads.
type controlSources struct {
	stores     []config.Store
	registries []registry.Registry
}

// runControl wires the file store, the ServiceEntry registry, the snapshot builder and
// the generators to an ads.Server and serves until ctx ends. started, when not nil,
// learns the bound addresses.
func runControl(ctx context.Context, f controlFlags, started func(xds, monitoring net.Addr)) error {
	level := new(slog.LevelVar)
	if err := setLevel(level, f.logLevel); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	mc, err := loadMeshConfig(f.meshConfig)
	if err != nil {
		return err
	}
	store := file.New(f.configDir, file.WithLogger(log))
	src := controlSources{stores: []config.Store{store},
		registries: []registry.Registry{serviceentry.New(store, serviceentry.WithTrustDomain(mc.TrustDomain), serviceentry.WithLogger(log))}}
	srv, err := newControlServer(src, mc, log)
	if err != nil {
		return err
	}
	xl, err := net.Listen("tcp", f.xdsAddr)
	if err != nil {
		return fmt.Errorf("--xds-address: %w", err)
	}
	ml, err := net.Listen("tcp", f.monAddr)
	if err != nil {
		_ = xl.Close()
		return fmt.Errorf("--monitoring-address: %w", err)
	}
	return serveControl(ctx, src, srv, xl, ml, func() {
		log.Info("weft control started", "xds", xl.Addr(), "monitoring", ml.Addr(), "config-dir", f.configDir,
			"rejected", len(store.Errors()))
		if started != nil {
			started(xl.Addr(), ml.Addr())
		}
	})
}

// newControlServer builds the ADS server over the sources, with the Go and process
// collectors next to istiod's metrics, and subscribes it to the sources' events.
func newControlServer(src controlSources, mc mesh.MeshConfig, log *slog.Logger) (*ads.Server, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	id, err := os.Hostname()
	if err != nil {
		id = "weft-control"
	}
	srv, err := ads.New(ads.Options{
		Generator: ads.GeneratorFunc(generateXDS),
		Snapshots: ads.SnapshotFunc(func(version string) *mesh.Snapshot {
			return mesh.Build(version, src.stores, src.registries, mc)
		}),
		Log: log, Registry: reg, ID: id, Version: Version,
	})
	if err != nil {
		return nil, err
	}
	for _, st := range src.stores {
		st.Subscribe(srv.ConfigChanged)
	}
	for _, r := range src.registries {
		r.Subscribe(srv.RegistryChanged)
	}
	return srv, nil
}

// generateXDS is xdsgen's generator as an ads.Generator.
func generateXDS(node *mesh.Node, snap *mesh.Snapshot, typeURL string, names []string) ([]ads.Resource, error) {
	rs, err := xdsgen.Options{}.Generate(node, snap, typeURL, names...)
	if err != nil {
		return nil, err
	}
	out := make([]ads.Resource, len(rs))
	for i, r := range rs {
		out[i] = ads.Resource(r)
	}
	return out, nil
}

// serveControl runs the sources, waits until they have read their config once, then
// serves ADS and monitoring until ctx ends or something fails.
func serveControl(ctx context.Context, src controlSources, srv *ads.Server, xds, mon net.Listener, ready func()) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errc := make(chan error, len(src.stores)+len(src.registries))
	for _, st := range src.stores {
		wg.Go(func() { errc <- st.Run(ctx) })
	}
	for _, r := range src.registries {
		wg.Go(func() { errc <- r.Run(ctx) })
	}
	err := waitSynced(ctx, src, errc)
	if err == nil && ctx.Err() == nil {
		ready()
		err = srv.Serve(ctx, xds, mon)
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
func waitSynced(ctx context.Context, src controlSources, errc <-chan error) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		synced := true
		for _, st := range src.stores {
			synced = synced && st.HasSynced()
		}
		for _, r := range src.registries {
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

// loadMeshConfig reads the part of an Istio MeshConfig weft honours; fields MeshConfig
// does not have are an error, fields weft ignores are not.
func loadMeshConfig(path string) (mesh.MeshConfig, error) {
	mc := mesh.DefaultMeshConfig()
	if path == "" {
		return mc, nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return mc, fmt.Errorf("--mesh-config: %w", err)
	}
	j, err := yaml.YAMLToJSON(b)
	if err != nil {
		return mc, fmt.Errorf("--mesh-config %s: %w", path, err)
	}
	var m meshv1alpha1.MeshConfig
	if err := protojson.Unmarshal(j, &m); err != nil {
		return mc, fmt.Errorf("--mesh-config %s: %w", path, err)
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
