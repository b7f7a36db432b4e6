package cli

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/weftmesh/weft/internal/proxy/route/routecheck"
)

// newRouteCheckCmd returns "weft route-check": Envoy's router_check_tool on weft's
// route table.
func newRouteCheckCmd() *cobra.Command {
	var (
		configPath, testPath string
		opts                 routecheck.Options
	)
	cmd := &cobra.Command{
		Use:   "route-check -c ROUTES -t TESTS",
		Short: "Check a route configuration against expected routing results (Envoy's router_check_tool)",
		Long: `route-check loads an Envoy v3 RouteConfiguration (YAML or JSON) and a test file in the
format of Envoy's router_check_tool (validation.proto, as proto JSON or YAML), routes each
test request through weft's route table and compares the results. It exits non-zero when a
test fails or, with --fail-under, when route coverage is too low.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configPath == "" || testPath == "" {
				return errors.New("both --config-path/-c and --test-path/-t are required")
			}
			return routecheck.Run(configPath, testPath, opts, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&configPath, "config-path", "c", "", "route configuration file (YAML or JSON)")
	f.StringVarP(&testPath, "test-path", "t", "", "test file (proto JSON or YAML)")
	f.BoolVarP(&opts.Details, "details", "d", false, "show each test's name, and the details of failures")
	f.BoolVar(&opts.OnlyShowFailures, "only-show-failures", false, "only show failing tests")
	f.Float64VarP(&opts.FailUnder, "fail-under", "f", 0, "fail if route coverage is under this percentage")
	f.BoolVar(&opts.CovAll, "covall", false, "measure coverage over every checkable field of each route, and list untested routes")
	f.BoolVar(&opts.DetailedCoverage, "detailed-coverage", false, "list untested routes by name")
	return cmd
}
