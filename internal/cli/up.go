package cli

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/weftmesh/weft/internal/localmesh"
)

// defaultStateDir is where a running local mesh keeps its state, logs and applied
// config: /run/weft/mesh for root, else a directory of the user's under the temp dir.
var defaultStateDir = func() string {
	if os.Geteuid() == 0 {
		return "/run/weft/mesh"
	}
	return filepath.Join(os.TempDir(), fmt.Sprintf("weft-%d", os.Geteuid()), "mesh")
}()

func newUpCmd() *cobra.Command {
	var opts localmesh.Options
	def := localmesh.DefaultNetwork()
	opts.Network = def
	opts.Host = localmesh.DefaultHostAddresses()
	var podCIDR, serviceCIDR, mode, hostPods, hostApps string
	cmd := &cobra.Command{
		Use:   "up -f PATH [-f PATH...]",
		Short: "Run a whole mesh on this machine from Kubernetes and Istio YAML",
		Long: `Run a whole mesh on this machine: each pod of the Deployments and Pods in the YAML
becomes a network namespace with its app and a weft sidecar (iptables capture, uid 1337),
the control plane runs in this process, Services get ClusterIPs that resolve by name in the
pods, and an ingress gateway answers on --ingress-port. Directories are watched: editing
their Istio config changes the mesh at once; "weft apply -f FILE" adds config. Ctrl-C stops
everything and removes what was made; "weft down" cleans up after a mesh that was killed.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if opts.Mode, err = localmesh.ParseMode(mode); err != nil {
				return fmt.Errorf("--mode: %w", err)
			}
			if opts.Network.PodCIDR, err = netip.ParsePrefix(podCIDR); err != nil {
				return fmt.Errorf("--pod-cidr: %w", err)
			}
			if opts.Network.ServiceCIDR, err = netip.ParsePrefix(serviceCIDR); err != nil {
				return fmt.Errorf("--service-cidr: %w", err)
			}
			if opts.Host.Sidecars, err = netip.ParsePrefix(hostPods); err != nil {
				return fmt.Errorf("--host-pod-cidr: %w", err)
			}
			if opts.Host.Apps, err = netip.ParsePrefix(hostApps); err != nil {
				return fmt.Errorf("--host-app-cidr: %w", err)
			}
			return runUp(cmd.Context(), cmd.OutOrStdout(), opts)
		},
	}
	fl := cmd.Flags()
	fl.StringSliceVarP(&opts.Paths, "filename", "f", nil, "YAML files or directories (repeatable)")
	fl.StringVar(&mode, "mode", "auto", "namespaces (root: pods in network namespaces with iptables capture), host (no root: pods on loopback addresses, apps use their sidecar as HTTP_PROXY), or auto")
	fl.IntVar(&opts.IngressPort, "ingress-port", 8080, "host port of the ingress gateway")
	fl.IntVar(&opts.IngressAdminPort, "ingress-admin-port", 15100, "port of the ingress gateway's admin API on 127.0.0.1")
	fl.IntVar(&opts.IngressHealthPort, "ingress-health-port", 15121, "port of the ingress gateway's readiness endpoint on 127.0.0.1")
	fl.StringVar(&opts.MonitoringAddress, "monitoring-address", "127.0.0.1:15014", "the control plane's /metrics and /debug address")
	fl.StringVar(&def.Bridge, "bridge", def.Bridge, "the pods' bridge device")
	fl.StringVar(&def.Prefix, "netns-prefix", def.Prefix, "prefix of the pods' network namespace names")
	fl.StringVar(&podCIDR, "pod-cidr", def.PodCIDR.String(), "pod addresses (the first is the bridge's)")
	fl.StringVar(&serviceCIDR, "service-cidr", def.ServiceCIDR.String(), "ClusterIP range")
	fl.StringVar(&hostPods, "host-pod-cidr", opts.Host.Sidecars.String(), "host mode: loopback addresses of the pods' sidecars (their endpoints)")
	fl.StringVar(&hostApps, "host-app-cidr", opts.Host.Apps.String(), "host mode: loopback addresses the pods' apps listen on")
	fl.StringVar(&opts.StateDir, "state-dir", defaultStateDir, "where the mesh keeps its state, logs and applied config")
	fl.StringVarP(&opts.Namespace, "namespace", "n", "default", "namespace of objects that name none")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}

func runUp(ctx context.Context, out io.Writer, opts localmesh.Options) error {
	if st, err := localmesh.LoadState(opts.StateDir); err == nil {
		if st.Running() {
			return fmt.Errorf("a mesh is already running (pid %d, %s)", st.PID, opts.StateDir)
		}
		if err := st.Cleanup(ctx); err != nil {
			return err
		}
	}
	fmt.Fprintln(out, "starting the mesh...")
	m, err := localmesh.Up(ctx, opts)
	if err != nil {
		return err
	}
	defer m.Down()
	printMesh(out, m, opts)
	return m.Wait(ctx)
}

func printMesh(out io.Writer, m *localmesh.Mesh, opts localmesh.Options) {
	fmt.Fprintf(out, "\nThe mesh is up (%s mode). Ingress gateway: %s (try %s/productpage)\n", m.Mode(), m.IngressURL(), m.IngressURL())
	fmt.Fprintf(out, "Control plane: xDS %s, monitoring and debug http://%s (weft proxy-status --control %s)\n",
		m.XDSAddress(), m.MonitoringAddress(), m.MonitoringAddress())
	fmt.Fprintf(out, "Logs: %s\n", filepath.Join(opts.StateDir, "logs"))
	pods := m.Pods()
	for _, p := range pods {
		switch {
		case p.Netns != "":
			fmt.Fprintf(out, "From a pod: ip netns exec %s weft demo curl http://reviews:9080/reviews/0\n", p.Netns)
		case p.Proxy != "":
			fmt.Fprintf(out, "From a pod: HTTP_PROXY=%s weft demo curl http://reviews:9080/reviews/0\n", p.Proxy)
		default:
			continue
		}
		break
	}
	fmt.Fprintln(out)
	w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "POD\tNAMESPACE\tIP\tSIDECAR ADMIN\tREADY")
	for _, p := range pods {
		admin := p.Admin
		if p.Netns != "" {
			admin = "ip netns exec " + p.Netns + " weft demo curl " + p.Admin + "/stats"
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%v\n", p.Name, p.Namespace, p.IP, admin, p.Ready)
	}
	w.Flush()
	svcs := m.Services()
	names := make([]string, 0, len(svcs))
	for n := range svcs {
		names = append(names, n)
	}
	sort.Strings(names)
	fmt.Fprintln(out)
	w = tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "SERVICE\tCLUSTER-IP")
	for _, n := range names {
		fmt.Fprintf(w, "%s\t%s\n", n, svcs[n])
	}
	w.Flush()
	fmt.Fprintln(out, "\nCtrl-C stops the mesh.")
}

func newDownCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Remove what a killed local mesh left behind (namespaces, links, rules, files)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := localmesh.LoadState(dir)
			if os.IsNotExist(err) {
				fmt.Fprintln(cmd.OutOrStdout(), "no mesh state found: nothing to clean up")
				return nil
			}
			if err != nil {
				return err
			}
			if err := st.Cleanup(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "removed %d pod namespaces, the bridge %s and %s\n", len(st.Netns), st.Bridge, dir)
			return nil
		},
	}
	cmd.Flags().StringVar(&dir, "state-dir", defaultStateDir, "the mesh's state directory")
	return cmd
}

func newApplyCmd() *cobra.Command {
	return configCmd("apply", "Add or replace Istio config in the running local mesh", "configured", localmesh.Apply)
}

func newDeleteCmd() *cobra.Command {
	return configCmd("delete", "Remove Istio config added with weft apply", "deleted", localmesh.Delete)
}

// configCmd builds weft apply and weft delete, which change the running mesh's config
// object by object, as kubectl does.
func configCmd(name, short, done string, change func(*localmesh.State, string, string) ([]string, error)) *cobra.Command {
	var dir, namespace string
	var files []string
	cmd := &cobra.Command{
		Use:   name + " -f FILE",
		Short: short,
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			st, err := localmesh.LoadState(dir)
			if err != nil || !st.Running() {
				return fmt.Errorf("no running mesh found in %s (start one with weft up)", dir)
			}
			for _, f := range files {
				objs, err := change(st, f, namespace)
				for _, o := range objs {
					fmt.Fprintf(cmd.OutOrStdout(), "%s %s\n", o, done)
				}
				if err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVarP(&files, "filename", "f", nil, "Istio YAML files")
	cmd.Flags().StringVarP(&namespace, "namespace", "n", "default", "namespace of objects that name none")
	cmd.Flags().StringVar(&dir, "state-dir", defaultStateDir, "the mesh's state directory")
	_ = cmd.MarkFlagRequired("filename")
	return cmd
}
