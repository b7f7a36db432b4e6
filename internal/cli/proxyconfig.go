package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"github.com/spf13/cobra"
	"google.golang.org/protobuf/proto"
	"sigs.k8s.io/yaml"
)

// configKind is one proxy-config subcommand: the ConfigDump sections it shows.
type configKind struct {
	name    string
	aliases []string
	short   string
	types   []string // ConfigDump section type URLs; nil: all
}

const adminPrefix = "type.googleapis.com/envoy.admin.v3."

var configKinds = []configKind{
	{"clusters", []string{"cluster", "clusters", "c"}, "the node's clusters", []string{adminPrefix + "ClustersConfigDump"}},
	{"listeners", []string{"listener", "l"}, "the node's listeners and their filter chains", []string{adminPrefix + "ListenersConfigDump"}},
	{"routes", []string{"route", "r"}, "the node's route configurations", []string{adminPrefix + "RoutesConfigDump"}},
	{"endpoints", []string{"endpoint", "ep"}, "the node's endpoints", []string{adminPrefix + "EndpointsConfigDump"}},
	{"all", nil, "clusters, listeners, routes and endpoints", nil},
}

type proxyConfigFlags struct {
	control string
	output  string
}

func newProxyConfigCmd() *cobra.Command {
	var f proxyConfigFlags
	cmd := &cobra.Command{
		Use:     "proxy-config",
		Aliases: []string{"pc"},
		Short:   "Show the xDS config the control plane sent a node (istioctl proxy-config)",
		Long: `Show what the control plane last sent a node — clusters, listeners, routes or
endpoints — as tables or as the Envoy ConfigDump that /debug/config_dump serves. NODE is
the node ID or name.namespace.`,
	}
	cmd.PersistentFlags().StringVar(&f.control, "control", defaultControl, "the control plane's monitoring address (host:port or URL)")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "table", "output format: table, json or yaml")
	for _, k := range configKinds {
		cmd.AddCommand(&cobra.Command{
			Use:     k.name + " NODE",
			Aliases: k.aliases,
			Short:   "Show " + k.short,
			Args:    cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return runProxyConfig(cmd.Context(), cmd.OutOrStdout(), f, k, args[0])
			},
		})
	}
	return cmd
}

func runProxyConfig(ctx context.Context, w io.Writer, f proxyConfigFlags, k configKind, node string) error {
	path := "/debug/config_dump?proxyID=" + url.QueryEscape(node)
	switch f.output {
	case "table", "":
		body, err := get(ctx, f.control, path+"&format=proto")
		if err != nil {
			return err
		}
		var dump adminv3.ConfigDump
		if err := proto.Unmarshal(body, &dump); err != nil {
			return fmt.Errorf("config dump of %s: %w", node, err)
		}
		return writeConfigTables(w, &dump, k.name)
	case "json", "yaml":
		body, err := get(ctx, f.control, path)
		if err != nil {
			return err
		}
		out, err := filterDump(body, k.types)
		if err != nil {
			return fmt.Errorf("config dump of %s: %w", node, err)
		}
		if f.output == "yaml" {
			if out, err = yaml.JSONToYAML(out); err != nil {
				return fmt.Errorf("config dump of %s: %w", node, err)
			}
		}
		_, err = w.Write(out)
		return err
	}
	return fmt.Errorf("--output: unknown format %q (want table, json or yaml)", f.output)
}

// filterDump keeps the ConfigDump sections of the given types, in the server's order,
// and re-indents the JSON so the output is stable.
func filterDump(body []byte, types []string) ([]byte, error) {
	var dump struct {
		Configs []json.RawMessage `json:"configs"`
	}
	if err := json.Unmarshal(body, &dump); err != nil {
		return nil, err
	}
	kept := []json.RawMessage{}
	for _, c := range dump.Configs {
		var section struct {
			Type string `json:"@type"`
		}
		if err := json.Unmarshal(c, &section); err != nil {
			return nil, err
		}
		if types == nil || slices.Contains(types, section.Type) {
			kept = append(kept, c)
		}
	}
	out, err := json.MarshalIndent(struct {
		Configs []json.RawMessage `json:"configs"`
	}{kept}, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(out, '\n'), nil
}
