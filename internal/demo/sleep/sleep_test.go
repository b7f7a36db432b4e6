package sleep

import (
	"context"
	"testing"
	"time"
)

func TestParse(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"infinity": Forever, "3600": time.Hour, "1.5": 1500 * time.Millisecond, "2m": 2 * time.Minute,
		"1d": 24 * time.Hour, "1h30m": 90 * time.Minute, "10s": 10 * time.Second,
	} {
		if got, err := Parse(in); err != nil || got != want {
			t.Errorf("Parse(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "x", "-1", "5y"} {
		if _, err := Parse(bad); err == nil {
			t.Errorf("Parse(%q) succeeded", bad)
		}
	}
}

func TestRun(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- Run(ctx, Forever) }()
	select {
	case <-done:
		t.Fatal("Run(Forever) returned before its context ended")
	case <-time.After(50 * time.Millisecond):
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	start := time.Now()
	if err := Run(context.Background(), 20*time.Millisecond); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Errorf("Run(20ms) = %v after %v", err, time.Since(start))
	}
}
