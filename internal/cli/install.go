package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/weftmesh/weft/internal/install"
)

// installFlags choose what weft install makes and where.
type installFlags struct {
	opts       install.Options
	kubeconfig string
}

func addInstallFlags(fl *pflag.FlagSet, f *installFlags) {
	fl.StringVarP(&f.opts.Namespace, "namespace", "n", install.DefaultNamespace, "namespace of the control plane and the ingress gateway")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "apply to (remove from) the cluster this kubeconfig file points at (its current context)")
}

func newInstallCmd() *cobra.Command {
	var f installFlags
	cmd := &cobra.Command{
		Use:   "install",
		Short: "Print the Kubernetes manifests of weft as a cluster's mesh, or apply them with --kubeconfig",
		Long: `install makes what runs weft in a Kubernetes cluster, as istioctl install does: the
namespace, Istio's CRDs, the control plane (ServiceAccount, RBAC, the istiod Deployment
and Service), the sidecar injection and config validation webhook configurations, and
the istio-ingressgateway Deployment and Service.

Without --kubeconfig it prints them as multi-document YAML (for kubectl apply
--server-side, or to keep in git). With --kubeconfig it server-side applies them, in
order, and waits until the CRDs are served; applying again changes nothing that is
already as installed. See docs/kubernetes.md, "Install".`,
		Example: `  weft install > weft.yaml
  weft install --kubeconfig ~/.kube/config --replicas 3
  weft install --image registry.example/weft:1.0 | kubectl apply --server-side -f -`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runInstall(cmd, f) },
	}
	fl := cmd.Flags()
	addInstallFlags(fl, &f)
	fl.StringVar(&f.opts.Image, "image", "", "weft's container image (default ghcr.io/weftmesh/weft:"+Version+")")
	fl.Int32Var(&f.opts.Replicas, "replicas", 2, "control plane replicas (one is elected leader; all serve xDS and the webhooks)")
	fl.Int32Var(&f.opts.GatewayReplicas, "gateway-replicas", 1, "ingress gateway replicas")
	fl.BoolVar(&f.opts.NoGateway, "no-gateway", false, "leave the ingress gateway out")
	return cmd
}

func runInstall(cmd *cobra.Command, f installFlags) error {
	f.opts.Version = Version
	if f.kubeconfig == "" {
		m, err := install.Manifest(f.opts)
		if err != nil {
			return err
		}
		_, err = cmd.OutOrStdout().Write(m)
		return err
	}
	objs, err := install.Objects(f.opts)
	if err != nil {
		return err
	}
	dyn, err := dynamicClient(f.kubeconfig)
	if err != nil {
		return err
	}
	return install.Apply(cmd.Context(), dyn, objs, reportTo(cmd.OutOrStdout()))
}

func newUninstallCmd() *cobra.Command {
	var f installFlags
	var opts install.UninstallOptions
	cmd := &cobra.Command{
		Use:   "uninstall",
		Short: "Remove what weft install made from a cluster",
		Long: `uninstall deletes what weft install made, in reverse order: the gateway, the webhook
configurations, the control plane, its RBAC, Istio's CRDs (and with them every Istio
object in the cluster, unless --keep-crds), the CA Secret and leader Lease the control
plane made, and the namespace (never default or kube-*). It uses --kubeconfig, else
$KUBECONFIG or ~/.kube/config, and does not wait for the objects to be gone.`,
		Example: `  weft uninstall --kubeconfig ~/.kube/config
  weft uninstall --keep-crds -n weft-system`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.opts.Version = Version
			objs, err := install.Objects(f.opts)
			if err != nil {
				return err
			}
			dyn, err := dynamicClient(f.kubeconfig)
			if err != nil {
				return err
			}
			return install.Uninstall(cmd.Context(), dyn, objs, opts, reportTo(cmd.OutOrStdout()))
		},
	}
	addInstallFlags(cmd.Flags(), &f)
	cmd.Flags().BoolVar(&opts.KeepCRDs, "keep-crds", false, "keep Istio's CRDs and the Istio objects in the cluster")
	return cmd
}

// dynamicClient reaches the cluster of the kubeconfig file at path, else of
// $KUBECONFIG or ~/.kube/config.
func dynamicClient(path string) (dynamic.Interface, error) {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = path
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("kubernetes config: %w", err)
	}
	cfg.UserAgent = "weft-install/" + Version
	return dynamic.NewForConfig(cfg)
}

// reportTo prints what happened to each object as kubectl does:
// "deployment.apps/istiod created".
func reportTo(w io.Writer) install.Report {
	return func(obj *unstructured.Unstructured, what string) {
		kind := strings.ToLower(obj.GetKind())
		if g := obj.GroupVersionKind().Group; g != "" {
			kind += "." + g
		}
		fmt.Fprintf(w, "%s/%s %s\n", kind, obj.GetName(), what)
	}
}
