package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/pflag"
	istioclient "istio.io/client-go/pkg/clientset/versioned"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/weftmesh/weft/internal/control/config"
	kubeconfig "github.com/weftmesh/weft/internal/control/config/kube"
	"github.com/weftmesh/weft/internal/control/mesh"
	"github.com/weftmesh/weft/internal/control/registry"
	kuberegistry "github.com/weftmesh/weft/internal/control/registry/kube"
	"github.com/weftmesh/weft/internal/control/registry/serviceentry"
)

// kubeFlags say whether and how weft control reads a Kubernetes cluster.
type kubeFlags struct {
	kubeconfig  string
	kube        bool
	writeStatus bool
}

func addKubeFlags(fl *pflag.FlagSet, f *kubeFlags) {
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "serve the mesh of the Kubernetes cluster this kubeconfig file points at (its current context)")
	fl.BoolVar(&f.kube, "kube", false, "serve the mesh of the Kubernetes cluster weft runs in (in-cluster config), or else of $KUBECONFIG or ~/.kube/config; "+
		"on by default in a pod (KUBERNETES_SERVICE_HOST set) when --config-dir is not given")
	fl.BoolVar(&f.writeStatus, "write-status", true, "write validation results to the Istio objects' status (Accepted condition, IST0106 message)")
}

// enabled says whether the cluster is a source: asked for with --kubeconfig or
// --kube, or running in a pod with no config directory to serve instead.
func (f kubeFlags) enabled(haveConfigDir bool) bool {
	return f.kubeconfig != "" || f.kube || (!haveConfigDir && os.Getenv("KUBERNETES_SERVICE_HOST") != "")
}

// restConfig finds the cluster: --kubeconfig, else the pod's service account, else
// $KUBECONFIG or ~/.kube/config.
func (f kubeFlags) restConfig() (*rest.Config, error) {
	var cfg *rest.Config
	var err error
	switch {
	case f.kubeconfig != "":
		cfg, err = clientcmd.BuildConfigFromFlags("", f.kubeconfig)
	case os.Getenv("KUBERNETES_SERVICE_HOST") != "":
		cfg, err = rest.InClusterConfig()
	default:
		cfg, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(clientcmd.NewDefaultClientConfigLoadingRules(),
			&clientcmd.ConfigOverrides{}).ClientConfig()
	}
	if err != nil {
		return nil, fmt.Errorf("kubernetes config: %w", err)
	}
	cfg.UserAgent = "weft-control/" + Version
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// kubeSources makes the cluster's sources: the Istio CRD store, the Kubernetes
// registry, the ServiceEntry registry over the CRD store, and (with --write-status)
// the status writer as a leader's job.
func kubeSources(f kubeFlags, mc mesh.MeshConfig, log *slog.Logger) (*sources, error) {
	cfg, err := f.restConfig()
	if err != nil {
		return nil, err
	}
	kc, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	ic, err := istioclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("istio client: %w", err)
	}
	store := kubeconfig.New(ic, kubeconfig.WithLogger(log))
	src := &sources{
		stores: []config.Store{store},
		registries: []registry.Registry{
			kuberegistry.New(kc, kuberegistry.WithDomainSuffix(mc.DomainSuffix), kuberegistry.WithTrustDomain(mc.TrustDomain),
				kuberegistry.WithLogger(log)),
			serviceentry.New(store, serviceentry.WithTrustDomain(mc.TrustDomain), serviceentry.WithLogger(log)),
		},
		kube:       true,
		rejected:   func() int { return len(store.Errors()) },
		kubeClient: kc,
	}
	if f.writeStatus {
		w := kubeconfig.NewStatusWriter(store, ic, kubeconfig.WithStatusLogger(log))
		src.leaderJobs = append(src.leaderJobs, func(ctx context.Context) error { return w.Run(ctx) })
	}
	return src, nil
}
