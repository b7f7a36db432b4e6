package cli

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"
)

// Main runs the weft command line with args and returns the process exit code.
func Main(ctx context.Context, args []string) int {
	root := newRoot(os.Stdout, os.Stderr)
	root.SetArgs(args)
	if err := root.ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "weft:", err)
		return 1
	}
	return 0
}

func newRoot(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "weft",
		Short:         "Weft is a service mesh: an Envoy-compatible proxy and an Istio-compatible control plane in one binary",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newVersionCmd(), newProxyCmd(), newRouteCheckCmd(), newRunAsCmd(), newControlCmd(), newProxyStatusCmd(), newProxyConfigCmd(), newIptablesCmd(), newDemoCmd(), newUpCmd(), newDownCmd(), newApplyCmd(), newDeleteCmd(), newKubeInjectCmd(), newInstallCmd(), newUninstallCmd(), newAnalyzeCmd())
	return root
}
