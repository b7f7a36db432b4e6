package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"github.com/spf13/cobra"

	"github.com/weftmesh/weft/internal/proxy"
	"github.com/weftmesh/weft/internal/proxy/config"
)

type proxyFlags struct {
	configPath  string
	configYAML  string
	concurrency int
	logLevel    string
	drainTimeS  int
	// Control-plane mode: the bootstrap is written from these, as pilot-agent does.
	xds       string
	nodeID    string
	cluster   string
	metadata  map[string]string
	labels    map[string]string
	adminAddr string
	delta     bool
	health    string
}

func newProxyCmd() *cobra.Command {
	var f proxyFlags
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the data plane (Envoy's role) from an Envoy v3 bootstrap",
		Long: `Run weft's data plane from an Envoy v3 Bootstrap given as YAML or JSON, like
"envoy -c bootstrap.yaml". Config weft does not support is a startup error naming the
field path and its type URL.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runProxy(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.configPath, "config-path", "c", "", "path to an Envoy v3 bootstrap (YAML or JSON)")
	fl.StringVar(&f.configYAML, "config-yaml", "", "an Envoy v3 bootstrap as inline YAML or JSON (merged over --config-path)")
	fl.IntVar(&f.concurrency, "concurrency", 2, "worker threads (GOMAXPROCS and accept loops per listener)")
	fl.StringVarP(&f.logLevel, "log-level", "l", "info", "log level: trace, debug, info, warning, error, critical, off")
	fl.IntVar(&f.drainTimeS, "drain-time-s", 600, "seconds to let connections finish when draining")
	fl.StringVar(&f.xds, "xds", "", "control plane ADS address (host:port); writes the bootstrap instead of reading one")
	fl.StringVar(&f.nodeID, "node-id", "", "xDS node ID with --xds (sidecar~IP~name.namespace~namespace.svc.cluster.local)")
	fl.StringVar(&f.cluster, "service-cluster", "", "xDS node cluster with --xds")
	fl.StringToStringVar(&f.metadata, "metadata", nil, "node metadata k=v with --xds (repeatable)")
	fl.StringToStringVar(&f.labels, "label", nil, "workload label k=v with --xds, sent as node metadata LABELS")
	fl.StringVar(&f.adminAddr, "admin-address", "127.0.0.1:15000", "admin API address with --xds")
	fl.BoolVar(&f.delta, "delta", false, "use incremental (delta) xDS with --xds")
	fl.StringVar(&f.health, "health-address", "", "serve Istio's readiness endpoint /healthz/ready there (e.g. :15021)")
	return cmd
}

func runProxy(ctx context.Context, f proxyFlags) error {
	level := new(slog.LevelVar)
	if err := setLevel(level, f.logLevel); err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	b, err := loadBootstrap(f)
	if err != nil {
		return err
	}
	p, err := proxy.New(ctx, b, proxy.Options{
		Concurrency: f.concurrency, DrainTime: time.Duration(f.drainTimeS) * time.Second, Log: log, LogLevel: level,
		Version: Version, ConfigPath: f.configPath, HealthAddress: f.health,
	})
	if err != nil {
		return err
	}
	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	defer signal.Stop(usr1)
	go func() {
		for range usr1 {
			p.AccessLogs.Reopen()
		}
	}()
	log.Info("weft proxy started", "listeners", len(p.Listeners.Listeners()), "clusters", len(p.Clusters.Clusters()),
		"admin", p.AdminAddress(), "concurrency", f.concurrency)
	return p.Run(ctx)
}

// loadBootstrap reads --config-path and merges --config-yaml over it, as Envoy does.
func loadBootstrap(f proxyFlags) (*bootstrapv3.Bootstrap, error) {
	if f.xds != "" {
		if f.nodeID == "" {
			return nil, fmt.Errorf("--node-id is required with --xds")
		}
		return proxy.AgentBootstrap(proxy.AgentOptions{XDS: f.xds, NodeID: f.nodeID, Cluster: f.cluster,
			Metadata: f.metadata, Labels: f.labels, AdminAddress: f.adminAddr, Delta: f.delta})
	}
	if f.configPath == "" && f.configYAML == "" {
		return nil, fmt.Errorf("one of --config-path (-c), --config-yaml or --xds is required")
	}
	b := &bootstrapv3.Bootstrap{}
	if f.configPath != "" {
		data, err := os.ReadFile(f.configPath)
		if err != nil {
			return nil, err
		}
		if err := config.Unmarshal(data, b); err != nil {
			return nil, fmt.Errorf("%s: %w", f.configPath, err)
		}
	}
	if f.configYAML != "" {
		over := &bootstrapv3.Bootstrap{}
		if err := config.Unmarshal([]byte(f.configYAML), over); err != nil {
			return nil, fmt.Errorf("--config-yaml: %w", err)
		}
		mergeBootstrap(b, over)
	}
	if err := config.Validate(b); err != nil {
		return nil, fmt.Errorf("invalid bootstrap: %w", err)
	}
	if err := config.Check(b); err != nil {
		return nil, err
	}
	return b, nil
}

// setLevel maps Envoy's log level names onto slog levels.
func setLevel(v *slog.LevelVar, name string) error {
	switch strings.ToLower(name) {
	case "trace", "debug":
		v.Set(slog.LevelDebug)
	case "info":
		v.Set(slog.LevelInfo)
	case "warning", "warn":
		v.Set(slog.LevelWarn)
	case "error", "critical", "off":
		v.Set(slog.LevelError)
	default:
		return fmt.Errorf("--log-level: unknown level %q", name)
	}
	return nil
}
