package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"

	"github.com/weftmesh/weft/internal/control"
	"github.com/weftmesh/weft/internal/control/ads"
	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
)

type controlFlags struct {
	configDir string
	xdsAddr   string
	// secureXDSAddr serves the same ADS over TLS (istiod's 15012).
	secureXDSAddr string
	monAddr       string
	meshConfig    string
	logLevel      string
	kube          kubeFlags
	webhook       webhookFlags
	leader        leaderFlags
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
registryz, config_dump) on --monitoring-address.

With --kubeconfig or --kube (automatic in a pod when --config-dir is not given), also
serve the mesh of a Kubernetes cluster: Services, EndpointSlices, Pods, Nodes and
Namespaces, and the Istio CRDs, watched with informers. With both, objects in
--config-dir take precedence over cluster objects of the same kind, namespace and name.

With --secure-xds-address (:15012), also serve ADS over TLS, and with
--webhook-address (:15017) the sidecar injection and validation webhooks
(AdmissionReview v1 at /inject and /validate), both with a certificate for
--tls-hosts from the control plane's CA, whose root --ca-dir keeps (see
docs/kubernetes.md, "Secure xDS" and "Sidecar injection").

On Kubernetes the replicas elect a leader with a Lease (--leader-elect); only the
leader writes status, keeps the webhook configurations' caBundle equal to the CA
root, which --ca-secret shares between replicas, and publishes the root in every
namespace as the ConfigMap istio-ca-root-cert (docs/kubernetes.md, "Leader
election").`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runControl(cmd.Context(), f, nil) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.configDir, "config-dir", "", "directory of Istio YAML, read recursively and watched")
	fl.StringVar(&f.xdsAddr, "xds-address", "127.0.0.1:15010", "address of the ADS server (plaintext gRPC)")
	fl.StringVar(&f.secureXDSAddr, "secure-xds-address", "", "also serve ADS over TLS there (istiod's :15012), "+
		"with a certificate from the control plane's CA for --tls-hosts")
	fl.StringVar(&f.monAddr, "monitoring-address", ":15014", "address of /metrics and the /debug endpoints")
	fl.StringVar(&f.meshConfig, "mesh-config", "", "Istio MeshConfig YAML (rootNamespace, trustDomain, outboundTrafficPolicy, connectTimeout)")
	fl.StringVarP(&f.logLevel, "log-level", "l", "info", "log level: debug, info, warning, error")
	addKubeFlags(fl, &f.kube)
	addWebhookFlags(fl, &f.webhook)
	addLeaderFlags(fl, &f.leader)
	return cmd
}

// runControl wires the sources (the file store and its ServiceEntry registry, the
// cluster's) to a control plane and serves until ctx ends. started, when not nil,
// learns the bound addresses.
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
	src, err := controlSources(f, mc, log)
	if err != nil {
		return err
	}
	srv, err := control.New(control.Options{Stores: src.stores, Registries: src.registries,
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
	defer func() { _, _ = xl.Close(), ml.Close() }() // closed already once served
	root, err := f.caRoot(ctx, src)
	if err != nil {
		return err
	}
	var serveOpts []ads.ServeOption
	sl, slTLS, err := f.secureXDS(root, log)
	if err != nil {
		return err
	}
	if sl != nil {
		defer sl.Close()
		serveOpts = append(serveOpts, ads.WithSecureXDS(sl, slTLS))
	}
	singletons, err := f.leader.jobs(root, f.webhook.addr != "", src, log)
	if err != nil {
		return err
	}
	src.jobs = append(src.jobs, singletons...)
	webhookJob, err := f.webhook.job(root, log)
	if err != nil {
		return err
	}
	if webhookJob != nil {
		src.jobs = append(src.jobs, webhookJob)
	}
	// The jobs (the status writer, the webhook) run beside the server and stop with it.
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer cancel()
	for _, job := range src.jobs {
		wg.Go(func() {
			if err := job(ctx); err != nil {
				log.Error("weft control", "error", err)
			}
		})
	}
	return srv.Serve(ctx, xl, ml, func() {
		log.Info("weft control started", "xds", xl.Addr(), "monitoring", ml.Addr(), "config-dir", f.configDir,
			"kubernetes", src.kube, "rejected", src.rejected())
		if started != nil {
			started(xl.Addr(), ml.Addr())
		}
	}, serveOpts...)
}

// sources are what a control plane serves, and the jobs that run beside it: on
// every replica (jobs), and on the elected leader only (leaderJobs).
type sources struct {
	stores     []config.Store
	registries []registry.Registry
	jobs       []func(context.Context) error
	leaderJobs []func(context.Context) error
	kubeClient kubernetes.Interface
	// kube says whether the cluster is a source; rejected counts rejected objects.
	kube     bool
	rejected func() int
}

// controlSources makes the file sources (with --config-dir) and the cluster's (with
// Kubernetes enabled); files come first, so their objects win over the cluster's.
func controlSources(f controlFlags, mc mesh.MeshConfig, log *slog.Logger) (*sources, error) {
	kube := f.kube.enabled(f.configDir != "")
	if f.configDir == "" && !kube {
		return nil, errors.New("nothing to serve: give --config-dir DIR, --kubeconfig PATH or --kube")
	}
	src := &sources{kube: kube}
	var counts []func() int
	if f.configDir != "" {
		store := file.New(f.configDir, file.WithLogger(log))
		src.stores = append(src.stores, store)
		src.registries = append(src.registries,
			serviceentry.New(store, serviceentry.WithTrustDomain(mc.TrustDomain), serviceentry.WithLogger(log)))
		counts = append(counts, func() int { return len(store.Errors()) })
	}
	if kube {
		ks, err := kubeSources(f.kube, mc, log)
		if err != nil {
			return nil, err
		}
		src.stores = append(src.stores, ks.stores...)
		src.registries = append(ks.registries, src.registries...)
		src.jobs = append(src.jobs, ks.jobs...)
		src.leaderJobs, src.kubeClient = ks.leaderJobs, ks.kubeClient
		counts = append(counts, ks.rejected)
	}
	src.rejected = func() int {
		n := 0
		for _, c := range counts {
			n += c()
		}
		return n
	}
	return src, nil
}
