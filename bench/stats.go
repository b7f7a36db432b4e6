package main

import (
	"errors"
	"math"
	"sort"
)

// median of xs; NaN for none.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// medianResult takes the median of each figure across repetitions.
func medianResult(rs []result) result {
	if len(rs) == 0 {
		return result{}
	}
	pick := func(f func(result) float64) float64 {
		xs := make([]float64, len(rs))
		for i, r := range rs {
			xs[i] = f(r)
		}
		return median(xs)
	}
	m := result{
		QPS:  pick(func(r result) float64 { return r.QPS }),
		Mean: pick(func(r result) float64 { return r.Mean }),
		Pct:  map[string]float64{},
	}
	for _, r := range rs {
		m.Count += r.Count
		m.Errors += r.Errors
	}
	for p := range rs[0].Pct {
		m.Pct[p] = pick(func(r result) float64 { return r.Pct[p] })
	}
	return m
}

// fitLinear solves least squares for y = b0 + b1*x1 + b2*x2 + ... (x rows hold the
// regressors without the constant) by the normal equations.
func fitLinear(x [][]float64, y []float64) ([]float64, error) {
	if len(x) == 0 || len(x) != len(y) {
		return nil, errors.New("fit: no data")
	}
	k := len(x[0]) + 1
	if len(x) < k {
		return nil, errors.New("fit: fewer points than parameters")
	}
	// a is the k x (k+1) augmented matrix of X'X | X'y.
	a := make([][]float64, k)
	for i := range a {
		a[i] = make([]float64, k+1)
	}
	for r, row := range x {
		v := append([]float64{1}, row...)
		for i := range k {
			for j := range k {
				a[i][j] += v[i] * v[j]
			}
			a[i][k] += v[i] * y[r]
		}
	}
	return solve(a)
}

// solve runs Gauss-Jordan elimination with partial pivoting on an augmented matrix.
func solve(a [][]float64) ([]float64, error) {
	k := len(a)
	for c := range k {
		p := c
		for r := c + 1; r < k; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-12 {
			return nil, errors.New("fit: regressors are collinear")
		}
		a[c], a[p] = a[p], a[c]
		for r := range k {
			if r == c {
				continue
			}
			f := a[r][c] / a[c][c]
			for j := c; j <= k; j++ {
				a[r][j] -= f * a[c][j]
			}
		}
	}
	out := make([]float64, k)
	for i := range k {
		out[i] = a[i][k] / a[i][i]
	}
	return out, nil
}

// get reads a metric, NaN when it is missing.
func get(m map[string]float64, k string) float64 {
	if v, ok := m[k]; ok {
		return v
	}
	return math.NaN()
}
