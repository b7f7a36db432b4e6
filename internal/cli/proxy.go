package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"

	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"github.com/spf13/cobra"

	"github.com/weftmesh/weft/internal/memtrim"
	"github.com/weftmesh/weft/internal/proxy"
	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/probe"
)

type proxyFlags struct {
	configPath  string
	configYAML  string
	concurrency int
	logLevel    string
	drainTimeS  int
	// Control-plane mode: the bootstrap is written from these, as pilot-agent does.
	xds       string
	xdsTLS    bool
	xdsTLSSet bool // --xds-tls was given
	xdsRoot   string
	nodeID    string
	cluster   string
	metadata  map[string]string
	labels    map[string]string
	adminAddr string
	delta     bool
	health    string
	// Identity from the pod's environment when --node-id is not given.
	proxyType  string
	domain     string
	labelsFile string
	status     string
}

func newProxyCmd() *cobra.Command {
	var f proxyFlags
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the data plane (Envoy's role) from an Envoy v3 bootstrap",
		Long: `Run weft's data plane from an Envoy v3 Bootstrap given as YAML or JSON, like
"envoy -c bootstrap.yaml". Config weft does not support is a startup error naming the
field path and its type URL.

With --xds, weft writes the bootstrap itself, as pilot-agent does. Without --node-id
it takes its identity from the environment the sidecar injector sets: the node ID
sidecar~$INSTANCE_IP~$POD_NAME.$POD_NAMESPACE~$POD_NAMESPACE.svc.cluster.local, node
metadata from every ISTIO_META_* variable plus NAME, NAMESPACE, INSTANCE_IPS and
SERVICE_ACCOUNT, and the workload labels from --labels-file (or ISTIO_METAJSON_LABELS).
Flags given win over the environment.

ADS goes over TLS when the --xds port is 15012 (istiod's secure port), with
--xds-root-cert, or with --xds-tls; the control plane's certificate must chain to
the root in --xds-root-cert (default $XDS_ROOT_CA, else
/var/run/secrets/istio/root-cert.pem, where the injector mounts the
istio-ca-root-cert ConfigMap) and name the --xds host.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.xdsTLSSet = cmd.Flags().Changed("xds-tls")
			return runProxy(cmd.Context(), f)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.configPath, "config-path", "c", "", "path to an Envoy v3 bootstrap (YAML or JSON)")
	fl.StringVar(&f.configYAML, "config-yaml", "", "an Envoy v3 bootstrap as inline YAML or JSON (merged over --config-path)")
	fl.IntVar(&f.concurrency, "concurrency", 2, "worker threads (GOMAXPROCS and accept loops per listener); 0: as many as the CPUs the process may use")
	fl.StringVarP(&f.logLevel, "log-level", "l", "info", "log level: trace, debug, info, warning, error, critical, off")
	fl.IntVar(&f.drainTimeS, "drain-time-s", 600, "seconds to let connections finish when draining")
	fl.StringVar(&f.xds, "xds", "", "control plane ADS address (host:port); writes the bootstrap instead of reading one")
	fl.BoolVar(&f.xdsTLS, "xds-tls", false, "ADS over TLS with --xds (default: when its port is 15012 or --xds-root-cert is given)")
	fl.StringVar(&f.xdsRoot, "xds-root-cert", "", "PEM root the control plane's certificate is verified against when ADS is over TLS "+
		"(default $"+proxy.EnvXDSRootCA+", else "+proxy.DefaultXDSRootCert+")")
	fl.StringVar(&f.nodeID, "node-id", "", "xDS node ID with --xds (sidecar~IP~name.namespace~namespace.svc.cluster.local)")
	fl.StringVar(&f.cluster, "service-cluster", "", "xDS node cluster with --xds")
	fl.StringToStringVar(&f.metadata, "metadata", nil, "node metadata k=v with --xds (repeatable)")
	fl.StringToStringVar(&f.labels, "label", nil, "workload label k=v with --xds, sent as node metadata LABELS")
	fl.StringVar(&f.adminAddr, "admin-address", "127.0.0.1:15000", "admin API address with --xds")
	fl.BoolVar(&f.delta, "delta", false, "use incremental (delta) xDS with --xds")
	fl.StringVar(&f.health, "health-address", "", "serve Istio's readiness endpoint /healthz/ready there (e.g. :15021)")
	fl.StringVar(&f.status, "status-address", "",
		"serve pilot-agent's status port there (e.g. :15020): /healthz/ready, /stats/prometheus, and the app probes of "+probe.EnvName)
	fl.StringVar(&f.proxyType, "type", "sidecar", "node type of an ID built from the environment with --xds: sidecar or router")
	fl.StringVar(&f.domain, "domain", "", "DNS domain of an ID built from the environment (default POD_NAMESPACE.svc.cluster.local)")
	fl.StringVar(&f.labelsFile, "labels-file", proxy.PodLabelsFile,
		"the pod's labels as the downward API writes them, read with --xds and no --node-id when it exists")
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
	opts := proxy.Options{
		Concurrency: f.concurrency, DrainTime: time.Duration(f.drainTimeS) * time.Second, Log: log, LogLevel: level,
		Version: Version, ConfigPath: f.configPath, HealthAddress: f.health, StatusAddress: f.status,
		PodIP: os.Getenv(proxy.EnvInstanceIP),
	}
	if opts.Concurrency == 0 {
		// Istio's concurrency 0: as many workers as CPUs the container may use.
		opts.Concurrency = runtime.GOMAXPROCS(0)
	}
	if opts.AppProbers, err = appProbers(os.LookupEnv); err != nil {
		return err
	}
	p, err := proxy.New(ctx, b, opts)
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
	// The pages of the binary that starting touched (most of it) go back; what the
	// proxy runs maps in again (see package memtrim).
	go memtrim.Run(ctx, time.Minute, log)
	log.Info("weft proxy started", "listeners", len(p.Listeners.Listeners()), "clusters", len(p.Clusters.Clusters()),
		"admin", p.AdminAddress(), "concurrency", f.concurrency)
	return p.Run(ctx)
}

// loadBootstrap reads --config-path and merges --config-yaml over it, as Envoy does.
func loadBootstrap(f proxyFlags) (*bootstrapv3.Bootstrap, error) {
	if f.xds != "" {
		o, err := agentOptions(f, os.Environ(), os.ReadFile)
		if err != nil {
			return nil, err
		}
		return proxy.AgentBootstrap(o)
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

// agentOptions are the bootstrap settings of --xds: the flags, completed from the
// pod's environment and labels file when --node-id is not given.
func agentOptions(f proxyFlags, environ []string, readFile func(string) ([]byte, error)) (proxy.AgentOptions, error) {
	o := proxy.AgentOptions{XDS: f.xds, NodeID: f.nodeID, Cluster: f.cluster, Metadata: f.metadata, Labels: f.labels,
		AdminAddress: f.adminAddr, Delta: f.delta, Type: f.proxyType, Domain: f.domain}
	var useTLS *bool
	if f.xdsTLSSet {
		useTLS = &f.xdsTLS
	}
	root, err := proxy.XDSRootCert(f.xds, useTLS, f.xdsRoot, envLookup(environ))
	if err != nil {
		return o, err
	}
	o.XDSRootCert = root
	if o.NodeID != "" {
		return o, nil
	}
	var labels []byte
	if f.labelsFile != "" && len(f.labels) == 0 {
		data, err := readFile(f.labelsFile)
		switch {
		case err == nil:
			labels = data
		case !errors.Is(err, fs.ErrNotExist):
			return o, fmt.Errorf("--labels-file: %w", err)
		}
	}
	return proxy.AgentFromEnv(o, environ, labels)
}

// envLookup looks a variable up in environ ("K=V" entries).
func envLookup(environ []string) func(string) string {
	return func(k string) string {
		for _, kv := range environ {
			if name, v, ok := strings.Cut(kv, "="); ok && name == k {
				return v
			}
		}
		return ""
	}
}

// appProbers reads the application probes the injector moved to the status port.
func appProbers(lookupEnv func(string) (string, bool)) (probe.Set, error) {
	v, ok := lookupEnv(probe.EnvName)
	if !ok || strings.TrimSpace(v) == "" {
		return nil, nil
	}
	return probe.Parse([]byte(v))
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
