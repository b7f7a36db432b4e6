package cli

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	istioclient "istio.io/client-go/pkg/clientset/versioned"

	"github.com/weftmesh/weft/internal/control/config"
	kubeconfig "github.com/weftmesh/weft/internal/control/config/kube"
	"github.com/weftmesh/weft/internal/control/validation"
)

// analyzeSyncTimeout bounds how long weft analyze waits to list a cluster's config.
const analyzeSyncTimeout = 30 * time.Second

func newAnalyzeCmd() *cobra.Command {
	var files []string
	var kube, namespace string
	cmd := &cobra.Command{
		Use:   "analyze [-f FILE|DIR ...] [--kubeconfig PATH]",
		Short: "Check Istio config files, or a cluster's Istio config, as istioctl analyze does",
		Long: `analyze reads Istio config (VirtualService, DestinationRule, Gateway, ServiceEntry,
WorkloadEntry, WorkloadGroup, Sidecar, PeerAuthentication, AuthorizationPolicy,
RequestAuthentication, Telemetry) from files and directories (.yaml, .yml, .json,
walked recursively; "-" is stdin), from a cluster with --kubeconfig, or both (a file's
object replaces the cluster's of the same kind, namespace and name), and prints a
message for each problem in istioctl analyze's format:

  Error [IST0106] (VirtualService default/bad vs.yaml:12 #2) Schema validation error: spec.http[0].route[0].weight: weight -5 must not be negative
  Error [IST0101] (VirtualService default/reviews vs.yaml:1 #0) Referenced host+subset in destinationrule not found: "reviews+v3"

IST0106 is config weft's control plane would reject: one message per field, with the
same validation the control plane, its status writer and the validating webhook use.
IST0101 is a VirtualService naming a Gateway, or a subset of a DestinationRule, that
is not among the objects analyzed. Objects of other kinds are ignored. The origin is
the object, then the file, the line its document starts on and the document's index
in the file. It exits non-zero when there is an error.`,
		Example: `  weft analyze -f samples/bookinfo/networking/
  weft analyze -f virtual-service.yaml -f destination-rule.yaml
  kubectl get vs -o yaml | weft analyze -f -
  weft analyze --kubeconfig ~/.kube/config -f new-route.yaml`,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runAnalyze(cmd, append(files, args...), kube, namespace)
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, `Istio config files or directories to analyze ("-" for stdin); may be repeated`)
	cmd.Flags().StringVar(&kube, "kubeconfig", "", "also analyze the Istio config of the cluster this kubeconfig file points at")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace of the files' objects that name none")
	return cmd
}

func runAnalyze(cmd *cobra.Command, paths []string, kube, namespace string) error {
	if len(paths) == 0 && kube == "" {
		return errors.New("nothing to analyze: give files or directories with -f, or a cluster with --kubeconfig")
	}
	objs, err := validation.LoadFiles(paths, cmd.InOrStdin(), namespace)
	if err != nil {
		return err
	}
	if kube != "" {
		cluster, err := clusterObjects(cmd.Context(), kube)
		if err != nil {
			return err
		}
		objs = validation.Merge(objs, cluster)
	}
	msgs := validation.Analyze(objs, "cluster.local")
	out := cmd.OutOrStdout()
	for _, m := range msgs {
		fmt.Fprintln(out, m)
	}
	if len(msgs) == 0 {
		fmt.Fprintf(out, "✔ No validation issues found when analyzing %d Istio objects.\n", len(objs))
	}
	if n := validation.Errors(msgs); n > 0 {
		return fmt.Errorf("analysis found %d errors in %d Istio objects (the codes are explained at https://istio.io/latest/docs/reference/config/analysis/)", n, len(objs))
	}
	return nil
}

// clusterObjects lists the Istio config of the cluster kubeconfig points at with the
// control plane's CRD store: the valid objects, and the invalid ones with their
// validation errors.
func clusterObjects(ctx context.Context, kube string) ([]validation.Object, error) {
	cfg, err := kubeFlags{kubeconfig: kube}.restConfig()
	if err != nil {
		return nil, err
	}
	cfg.UserAgent = "weft-analyze/" + Version
	ic, err := istioclient.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("istio client: %w", err)
	}
	store := kubeconfig.New(ic)
	ctx, cancel := context.WithTimeout(ctx, analyzeSyncTimeout)
	done := make(chan error, 1)
	go func() { done <- store.Run(ctx) }()
	defer func() { cancel(); <-done }()
	for !store.HasSynced() {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%s: the cluster's Istio config was not listed within %v", kube, analyzeSyncTimeout)
		case err := <-done:
			done <- err
			return nil, fmt.Errorf("%s: %w", kube, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	var objs []validation.Object
	for _, kind := range config.Kinds() {
		for _, c := range store.List(kind) {
			objs = append(objs, validation.Object{Config: &c})
		}
	}
	for _, e := range store.Errors() {
		objs = append(objs, validation.Object{Err: e})
	}
	return objs, nil
}
