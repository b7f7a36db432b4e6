package localmesh

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
	"strings"
)

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func execOutput(ctx context.Context, name string, args ...string) (string, error) {
	out, err := exec.CommandContext(ctx, name, args...).Output()
	return string(out), err
}

func splitFields(s string) []string { return strings.Fields(s) }

func fmtSscan(s string, p *int) (int, error) { return fmt.Sscan(s, p) }
