package tokenbucket

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeClock is a clock the test moves by hand.
type fakeClock struct{ t atomic.Int64 }

func (c *fakeClock) now() time.Time          { return time.Unix(0, c.t.Load()) }
func (c *fakeClock) advance(d time.Duration) { c.t.Add(int64(d)) }
func newClock() *fakeClock                   { c := &fakeClock{}; c.t.Store(int64(time.Hour)); return c }
func takeN(b *Bucket, n int) (taken int) {
	for range n {
		if b.Take() {
			taken++
		}
	}
	return taken
}

func TestStartsFullAndEmpties(t *testing.T) {
	c := newClock()
	b := New(3, 1, time.Second, c.now)
	if b.Remaining() != 3 || b.Max() != 3 {
		t.Fatalf("new bucket: remaining %d max %d, want 3 3", b.Remaining(), b.Max())
	}
	if got := takeN(b, 5); got != 3 {
		t.Fatalf("took %d of 5 from a full bucket of 3, want 3", got)
	}
	if b.Remaining() != 0 {
		t.Errorf("remaining %d after emptying, want 0", b.Remaining())
	}
	if d := b.NextToken(); d != time.Second {
		t.Errorf("next token in %v, want 1s", d)
	}
}

func TestRefill(t *testing.T) {
	tests := []struct {
		name          string
		max, perFill  uint32
		interval      time.Duration
		wait          time.Duration
		wantAfterWait int
	}{
		{"one interval", 10, 5, time.Second, time.Second, 5},
		{"half interval", 10, 4, time.Second, 500 * time.Millisecond, 2},
		{"capped at max", 3, 5, time.Second, 10 * time.Second, 3},
		{"not a whole token yet", 4, 1, time.Second, 999 * time.Millisecond, 0},
		{"thirds add up exactly", 3, 3, time.Second, time.Second, 3},
		{"slow rate", 1, 1, time.Minute, time.Minute, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClock()
			b := New(tt.max, tt.perFill, tt.interval, c.now)
			takeN(b, int(tt.max))
			c.advance(tt.wait)
			if got := takeN(b, int(tt.max)+5); got != tt.wantAfterWait {
				t.Errorf("took %d after %v, want %d", got, tt.wait, tt.wantAfterWait)
			}
		})
	}
}

func TestNextToken(t *testing.T) {
	c := newClock()
	b := New(2, 4, time.Second, c.now) // a token every 250ms
	takeN(b, 2)
	if d := b.NextToken(); d != 250*time.Millisecond {
		t.Errorf("next token %v, want 250ms", d)
	}
	c.advance(100 * time.Millisecond)
	if d := b.NextToken(); d < 149*time.Millisecond || d > 151*time.Millisecond {
		t.Errorf("next token %v, want 150ms", d)
	}
	c.advance(150 * time.Millisecond)
	if d := b.NextToken(); d != 0 || b.Remaining() != 1 {
		t.Errorf("after 250ms: next %v remaining %d, want 0 and 1", d, b.Remaining())
	}
}

// TestConcurrentTake: many goroutines racing on a bucket take exactly its tokens.
func TestConcurrentTake(t *testing.T) {
	c := newClock()
	b := New(1000, 1, time.Hour, c.now)
	var taken atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if b.Take() {
					taken.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if taken.Load() != 1000 {
		t.Errorf("16x200 takes from 1000 tokens took %d", taken.Load())
	}
}

func BenchmarkTake(b *testing.B) {
	bk := New(1<<30, 1<<30, time.Second, nil)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			bk.Take()
		}
	})
}
