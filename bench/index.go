package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeIndex rewrites README.md in the output directory from the JSON reports in it,
// so it always links the latest result of every scenario with its machine.
func writeIndex(dir string) error {
	var b strings.Builder
	b.WriteString(`# Weft benchmarks

What weft costs per hop, per core, per request and per config item, measured on
loopback beside a direct connection, nginx and haproxy in the same run (issue 6).
Every figure that matters is a ratio against a baseline from the same run, the median
of the repetitions. The machines are shared and noisy: read the load average beside
each result, and trust the ratios more than the absolute numbers.

Run a scenario with ` + "`go run ./bench <scenario>`" + ` from the repository root (` + "`go run ./bench all`" + ` for
all of them, ` + "`--quick`" + ` for a few seconds each, ` + "`-h`" + ` for the flags). The harness builds weft,
installs nginx, haproxy, h2load (apt), fortio and ghz (go install) when they are missing,
and rewrites the scenario's page, its PNG plots, a JSON file of the raw figures and this
index. ` + "`WEFT_BENCH_QUICK=1 go test -run TestQuick ./bench`" + ` runs every scenario in quick mode into
a temporary directory and checks that each produced numbers and plots (not that they are
good); without the variable the test skips.

| scenario | result | headline | run (UTC) | machine | load (1/5/15 min) at start, end |
|---|---|---|---|---|---|
`)
	for _, s := range scenarios {
		if s.needs != nil {
			fmt.Fprintf(&b, "| %s | not run yet | %s: %v | | | |\n", s.name, s.summary, s.needs)
			continue
		}
		r, err := readReport(filepath.Join(dir, s.name+".json"))
		if err != nil {
			fmt.Fprintf(&b, "| %s | not run yet | %s | | | |\n", s.name, s.summary)
			continue
		}
		quick := ""
		if r.Quick {
			quick = " (quick)"
		}
		m := r.Machine
		fmt.Fprintf(&b, "| %s | [%s](%s.md)%s | %s | %s | %d cores, %s, Linux %s | %s; %s |\n",
			s.name, r.Title, s.name, quick, r.Headline, r.Started.UTC().Format("2006-01-02 15:04"),
			m.Cores, m.Model, m.Kernel, m.Load, m.LoadEnd)
	}
	b.WriteString(`
The targets weft steers for (issue 6) are checked on each page: two weft hops add no
more p99 than one haproxy hop; requests per second per core at least nginx's; at most
0.15 vCPU per 1000 rps; RSS at most 20 MB idle and 30 MB at 1000 rps; at most 10 KB per
cluster and 0.5 KB per endpoint; the control plane holds 1000 services and 2000 proxies
in 0.5 GB and converges within 200 ms p99 after the debounce.
`)
	if err := os.WriteFile(filepath.Join(dir, "README.md"), []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("benchmarks index: %w", err)
	}
	return nil
}

func readReport(path string) (*report, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r report
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &r, nil
}
