package leaktest_test

import (
	"strings"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/leaktest"
)

func park(started, stop, done chan struct{}) {
	close(started)
	<-stop
	close(done)
}

// TestLeaked: a goroutine still running is reported with its stack; once it ends,
// nothing is. The check waits for park to run: a goroutine not yet scheduled shows
// only its go-statement wrapper in a stack dump, not park.
func TestLeaked(t *testing.T) {
	started, stop, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	go park(started, stop, done)
	<-started
	if got := leaktest.Leaked(50*time.Millisecond, "leaktest_test.park"); !strings.Contains(got, "leaktest_test.park") {
		t.Errorf("a running goroutine not reported: %q", got)
	}
	close(stop)
	<-done
	if got := leaktest.Leaked(time.Second, "leaktest_test.park"); got != "" {
		t.Errorf("an ended goroutine reported:\n%s", got)
	}
}
