package main

import (
	"math"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
	} {
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median(nil) is not NaN")
	}
}

func TestFitLinear(t *testing.T) {
	// y = 5 + 2a + 0.5b exactly.
	x := [][]float64{{0, 0}, {100, 1000}, {1000, 10000}, {100, 100}, {1000, 1000}, {5000, 5000}}
	var y []float64
	for _, r := range x {
		y = append(y, 5+2*r[0]+0.5*r[1])
	}
	b, err := fitLinear(x, y)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []float64{5, 2, 0.5} {
		if math.Abs(b[i]-want) > 1e-6 {
			t.Errorf("b[%d] = %v, want %v", i, b[i], want)
		}
	}
	if _, err := fitLinear([][]float64{{1, 10}, {2, 20}, {3, 30}}, []float64{1, 2, 3}); err == nil {
		t.Error("collinear regressors: no error")
	}
}
