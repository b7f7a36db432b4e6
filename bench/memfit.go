package main

import (
	"fmt"
	"slices"
)

// Envoy's own CI bounds on memory per cluster and per endpoint, and issue 6's targets.
const (
	envoyPerCluster  = 42 * 1000.0
	envoyPerEndpoint = 1.3 * 1000.0
	targetPerCluster = 10 * 1000.0
	targetPerEndpt   = 0.5 * 1000.0
)

// fitSeries is one memory figure at each point, to fit against clusters and endpoints.
type fitSeries struct {
	name string
	y    []float64
}

// costFit fits memory = base + a·clusters + b·endpoints (x rows hold clusters and
// endpoints) for each series, and adds a row per series to t: the lead cells, base
// MiB, KB per cluster and KB per endpoint. It records the costs in metrics as
// per_cluster_kb/<key><name> and per_endpoint_kb/<key><name>.
func costFit(t *table, lead []string, x [][]float64, series []fitSeries, metrics map[string]float64, key string) error {
	for _, s := range series {
		b, err := fitLinear(x, s.y)
		if err != nil {
			return fmt.Errorf("fit %s%s: %w", key, s.name, err)
		}
		t.add(append(slices.Clone(lead), s.name, mib(b[0]), fmt.Sprintf("%.2f", b[1]/1000), fmt.Sprintf("%.3f", b[2]/1000))...)
		metrics["per_cluster_kb/"+key+s.name] = b[1] / 1000
		metrics["per_endpoint_kb/"+key+s.name] = b[2] / 1000
	}
	return nil
}

// boundRows adds Envoy's CI bound and issue 6's target to a costFit table whose rows
// have lead leading cells.
func boundRows(t *table, lead int) {
	blank := make([]string, lead)
	t.add(append(slices.Clone(blank), "Envoy's CI bound", "", fmt.Sprintf("%.0f", envoyPerCluster/1000), fmt.Sprintf("%.1f", envoyPerEndpoint/1000))...)
	t.add(append(slices.Clone(blank), "issue 6 target", "", fmt.Sprintf("%.0f", targetPerCluster/1000), fmt.Sprintf("%.1f", targetPerEndpt/1000))...)
}

// linesByEndpoints draws y against clusters, one line per endpoints-per-cluster
// value, named by name. The point with no clusters starts every line.
func linesByEndpoints(pts []cfgPoint, name func(endpoints int) string, y func(cfgPoint) float64) []lineSeries {
	var zero []cfgPoint
	var order []int
	lines := map[int]*lineSeries{}
	for _, pt := range pts {
		if pt.Clusters == 0 {
			zero = append(zero, pt)
			continue
		}
		l := lines[pt.Endpoints]
		if l == nil {
			l = &lineSeries{name: name(pt.Endpoints)}
			lines[pt.Endpoints] = l
			order = append(order, pt.Endpoints)
		}
		l.xs, l.ys = append(l.xs, float64(pt.Clusters)), append(l.ys, y(pt))
	}
	var out []lineSeries
	for _, eps := range order {
		l := *lines[eps]
		if len(zero) > 0 {
			l.xs, l.ys = append([]float64{0}, l.xs...), append([]float64{y(zero[0])}, l.ys...)
		}
		out = append(out, l)
	}
	return out
}

// medianReading is the median of each figure of rs; AfterGC when all were.
func medianReading(rs []memReading) memReading {
	pick := func(f func(memReading) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	return memReading{
		RSS:     pick(func(r memReading) float64 { return r.RSS }),
		Anon:    pick(func(r memReading) float64 { return r.Anon }),
		File:    pick(func(r memReading) float64 { return r.File }),
		Heap:    pick(func(r memReading) float64 { return r.Heap }),
		AfterGC: notReadAfterGC(rs) == 0,
	}
}

// largest is the point with the most endpoints.
func largest(pts []cfgPoint) cfgPoint {
	var big cfgPoint
	for _, p := range pts {
		if p.total() > big.total() {
			big = p
		}
	}
	return big
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

func pointKey(pt cfgPoint) string { return fmt.Sprintf("%dx%d", pt.Clusters, pt.Endpoints) }
