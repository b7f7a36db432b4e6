package cli

import (
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/weftmesh/weft/internal/inject"
)

// injectFlags choose the injector's config: a file, then the flags given over it.
type injectFlags struct {
	configPath string
	image      string
	discovery  string
}

func (f *injectFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.configPath, "inject-config", "", "injector config YAML (image, policy, defaultConfig, proxy, proxyInit; see docs/kubernetes.md)")
	fl.StringVar(&f.image, "image", "", "weft's container image (default ghcr.io/weftmesh/weft:"+Version+", or the config's)")
	fl.StringVar(&f.discovery, "discovery-address", "", "the control plane's ADS address (default istiod.istio-system.svc:15012, or the config's)")
}

// config reads the injector config and applies the flags.
func (f *injectFlags) config() (*inject.Config, error) {
	c := inject.DefaultConfig()
	if f.configPath != "" {
		data, err := os.ReadFile(f.configPath)
		if err != nil {
			return nil, err
		}
		if c, err = inject.LoadConfig(data); err != nil {
			return nil, fmt.Errorf("%s: %w", f.configPath, err)
		}
	}
	if f.image != "" {
		c.Image = f.image
	}
	if c.Image == "" {
		c.Image = "ghcr.io/weftmesh/weft:" + Version
	}
	if f.discovery != "" {
		c.DefaultConfig.DiscoveryAddress = f.discovery
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("injector config: %w", err)
	}
	return &c, nil
}

func newKubeInjectCmd() *cobra.Command {
	var f injectFlags
	var in, out string
	cmd := &cobra.Command{
		Use:   "kube-inject -f FILE [-o FILE]",
		Short: "Inject the sidecar into the pod templates of Kubernetes YAML, as istioctl kube-inject does",
		Long: `kube-inject adds weft's sidecar (the istio-init capture step and the istio-proxy
native sidecar) to every pod template of a multi-document manifest: Pods, Deployments,
StatefulSets, DaemonSets, ReplicaSets, Jobs and CronJobs, also inside a List. Other
documents, and workloads that opt out (sidecar.istio.io/inject: "false", host
network), are copied unchanged. The pods' annotations are read as Istio reads them;
one weft does not support is an error naming it. Namespace labels are not consulted.
Each workload's outcome is reported on stderr.`,
		Example: `  weft kube-inject -f deployment.yaml | kubectl apply -f -
  weft kube-inject -f bookinfo.yaml -o bookinfo-injected.yaml --image registry.example/weft:1.0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := f.config()
			if err != nil {
				return err
			}
			return runKubeInject(cmd, cfg, in, out)
		},
	}
	cmd.Flags().StringVarP(&in, "filename", "f", "", `the manifest to inject ("-" for stdin)`)
	cmd.Flags().StringVarP(&out, "output", "o", "", "write the injected manifest there instead of stdout")
	_ = cmd.MarkFlagRequired("filename")
	f.register(cmd)
	return cmd
}

func runKubeInject(cmd *cobra.Command, cfg *inject.Config, in, out string) error {
	var data []byte
	var err error
	if in == "-" {
		data, err = io.ReadAll(cmd.InOrStdin())
	} else {
		data, err = os.ReadFile(in)
	}
	if err != nil {
		return err
	}
	injected, outcomes, err := inject.Manifest(cfg, data)
	if err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	for _, o := range outcomes {
		fmt.Fprintln(cmd.ErrOrStderr(), o)
	}
	if out == "" {
		_, err = cmd.OutOrStdout().Write(injected)
		return err
	}
	return os.WriteFile(out, injected, 0o644)
}
