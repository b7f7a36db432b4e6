package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"

	"github.com/spf13/cobra"

	"github.com/weftmesh/weft/internal/control"
	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
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

// runControl wires the file store and the ServiceEntry registry to a control plane and
// serves until ctx ends. started, when not nil, learns the bound addresses.
func runControl(ctx context.Context, f controlFlags, started func(xds, monitoring net.Addr)) error {
	level := new(slog.LevelVar)
	if err := setLevel(level, f.logLevel); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	mc, err := control.LoadMeshConfig(f.meshConfig)
	if err != nil {
		return fmt.Errorf("--mesh-config: %w", err)
	}
	store := file.New(f.configDir, file.WithLogger(log))
	reg := serviceentry.New(store, serviceentry.WithTrustDomain(mc.TrustDomain), serviceentry.WithLogger(log))
	srv, err := control.New(control.Options{Stores: []config.Store{store}, Registries: []registry.Registry{reg},
		Mesh: mc, Log: log, Version: Version})
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
	return srv.Serve(ctx, xl, ml, func() {
		log.Info("weft control started", "xds", xl.Addr(), "monitoring", ml.Addr(), "config-dir", f.configDir,
			"rejected", len(store.Errors()))
		if started != nil {
			started(xl.Addr(), ml.Addr())
		}
	})
}
