// Command bench is weft's benchmark harness: it builds weft and the baselines (nginx,
// haproxy, a direct connection), drives them on loopback with fortio, h2load and ghz,
// and writes docs/benchmarks/<scenario>.md with tables and PNG plots, plus a JSON
// file of the raw figures and an index in docs/benchmarks/README.md.
//
//	go run ./bench <scenario>... [--quick] [--reps N] [--out DIR]
//	go run ./bench all --quick
//
// Scenarios follow issue 6: latency, throughput, resources, spread, http2,
// configsize, profile, xds-memory (weft control and weft sidecars over ADS) and
// controlplane (weft control and N simulated ADS clients). Every figure that matters
// is a ratio against a baseline measured in the same run, repeated (median shown), and
// every report names the machine it ran on.
//
// The harness installs the tools it needs (apt and go install) and never reports a
// number it did not measure: a tool that cannot be installed is named in the output.
// It imports nothing from weft's internal packages; weft is driven as a binary.
package main
