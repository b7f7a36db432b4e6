package lb

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestEDFOrder(t *testing.T) {
	tests := []struct {
		name    string
		weights []uint64
		want    []uint32
	}{
		{"equal", []uint64{1, 1, 1}, []uint32{0, 1, 2}},
		// Deadlines: c 1/3, b 1/2, c 2/3, then a, b, c tie at 1 and go in insertion order.
		{"1 2 3", []uint64{1, 2, 3}, []uint32{2, 1, 2, 0, 1, 2}},
		{"zero weight never picked", []uint64{0, 2, 1}, []uint32{1, 2, 1}},
		{"all zero", []uint64{0, 0}, []uint32{}},
		{"1 4", []uint64{1, 4}, []uint32{1, 1, 1, 0, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, edfOrder(tt.weights)); diff != "" {
				t.Errorf("edfOrder(%v) (-want +got):\n%s", tt.weights, diff)
			}
		})
	}
}

func TestQuantize(t *testing.T) {
	tests := []struct {
		name    string
		weights []float64
		want    []uint64
	}{
		{"common divisor", []float64{2, 4, 6}, []uint64{1, 2, 3}},
		{"coprime", []float64{3, 5}, []uint64{3, 5}},
		{"fractions", []float64{0.5, 1, 0.25}, []uint64{2, 4, 1}},
		{"zero stays zero", []float64{0, 7, 0}, []uint64{0, 1, 0}},
		{"all zero", []float64{0, 0}, []uint64{0, 0}},
		// 1 and 200000 do not fit in 65536 entries: scaled, the light host keeps 1 entry.
		{"too large", []float64{1, 200000}, []uint64{1, 65536}},
		{"tiny share never vanishes", []float64{1e-9, 1}, []uint64{1, 10000}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, quantize(tt.weights)); diff != "" {
				t.Errorf("quantize(%v) (-want +got):\n%s", tt.weights, diff)
			}
		})
	}
}

func TestSchedulePeriodIsExact(t *testing.T) {
	weights := []float64{1, 2, 3, 10}
	s := newSchedule(weights, 12345)
	counts := make([]int, len(weights))
	for range 3 * 16 {
		counts[s.pick()]++
	}
	if diff := cmp.Diff([]int{3, 6, 9, 30}, counts); diff != "" {
		t.Errorf("picks over three periods (-want +got):\n%s", diff)
	}
	if got := newSchedule([]float64{0, 0}, 1).pick(); got != -1 {
		t.Errorf("pick on an empty schedule = %d, want -1", got)
	}
}
