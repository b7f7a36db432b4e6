package sleep

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Forever is the duration Parse returns for "infinity", and Run's for waiting until its
// context ends.
const Forever time.Duration = -1

// Run waits until ctx is done or d has passed (never, for Forever) and returns nil.
func Run(ctx context.Context, d time.Duration) error {
	if d == Forever {
		<-ctx.Done()
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return nil
}

// Parse reads a duration as sleep(1) does: "infinity", or a number with an optional suffix
// s, m, h or d (seconds when none). It also accepts Go durations such as "1h30m".
func Parse(s string) (time.Duration, error) {
	if s == "infinity" || s == "inf" {
		return Forever, nil
	}
	units := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour, "d": 24 * time.Hour}
	num, unit := s, time.Second
	if n := len(s); n > 0 && units[s[n-1:]] != 0 {
		num, unit = s[:n-1], units[s[n-1:]]
	}
	if f, err := strconv.ParseFloat(num, 64); err == nil && f >= 0 {
		return time.Duration(f * float64(unit)), nil
	}
	if d, err := time.ParseDuration(s); err == nil && d >= 0 {
		return d, nil
	}
	return 0, fmt.Errorf("invalid sleep duration %q", s)
}
