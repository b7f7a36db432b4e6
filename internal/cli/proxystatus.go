package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/weftmesh/weft/internal/control/ads"
)

// defaultControl is the control plane's monitoring address, where the debug endpoints are.
const defaultControl = "127.0.0.1:15014"

func newProxyStatusCmd() *cobra.Command {
	var control string
	cmd := &cobra.Command{
		Use:     "proxy-status",
		Aliases: []string{"ps"},
		Short:   "Show whether each connected node has the config the control plane sent it (istioctl proxy-status)",
		Long: `Show, for each node connected to the control plane, whether its clusters, listeners,
endpoints and routes are SYNCED (the last response was ACKed), STALE (it was NACKed or
is not ACKed yet) or NOT SENT, read from the control plane's /debug/syncz.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var sts []ads.SyncStatus
			if err := getJSON(cmd.Context(), control, "/debug/syncz", &sts); err != nil {
				return err
			}
			return writeProxyStatus(cmd.OutOrStdout(), sts)
		},
	}
	cmd.Flags().StringVar(&control, "control", defaultControl, "the control plane's monitoring address (host:port or URL)")
	return cmd
}

// writeProxyStatus prints istioctl proxy-status's table: one row per connection, the sync
// state per type, the control plane and its version.
func writeProxyStatus(w io.Writer, sts []ads.SyncStatus) error {
	sts = slices.Clone(sts)
	slices.SortStableFunc(sts, func(a, b ads.SyncStatus) int { return strings.Compare(a.ProxyID, b.ProxyID) })
	return writeTable(w, func(tw *tabwriter.Writer) {
		fmt.Fprintln(tw, "NAME\tCLUSTER\tCDS\tLDS\tEDS\tRDS\tCONTROL\tVERSION")
		for _, st := range sts {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", st.ProxyID, st.ClusterID,
				st.State(ads.ClusterType), st.State(ads.ListenerType), st.State(ads.EndpointType), st.State(ads.RouteType),
				st.ControlPlane, st.ControlPlaneVersion)
		}
	})
}

// controlURL turns --control into the base URL of the debug endpoints.
func controlURL(control string) string {
	if strings.Contains(control, "://") {
		return strings.TrimSuffix(control, "/")
	}
	return "http://" + control
}

// get fetches a path from the control plane's monitoring server.
func get(ctx context.Context, control, path string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, controlURL(control)+path, nil)
	if err != nil {
		return nil, fmt.Errorf("control plane %s: %w", control, err)
	}
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("control plane %s: %w", control, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("control plane %s: %w", control, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("control plane %s: GET %s: %s: %s", control, path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

func getJSON(ctx context.Context, control, path string, v any) error {
	body, err := get(ctx, control, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("control plane %s: GET %s: %w", control, path, err)
	}
	return nil
}
