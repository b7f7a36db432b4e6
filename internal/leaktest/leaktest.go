package leaktest

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// Weft marks the goroutines running weft's own code.
const Weft = "weftmesh/weft/internal/"

// Main runs the package's tests and then, if they passed, waits up to wait for the
// goroutines whose stacks contain one of markers to end; those left fail the run, their
// stacks printed.
func Main(m *testing.M, wait time.Duration, markers ...string) {
	code := m.Run()
	if code == 0 {
		if leak := Leaked(wait, markers...); leak != "" {
			fmt.Fprintf(os.Stderr, "goroutines leaked:\n%s\n", leak)
			code = 1
		}
	}
	os.Exit(code)
}

// Leaked waits up to wait for the goroutines whose stacks contain one of markers
// (other than the caller's) to end, and returns the stacks of those that remain.
func Leaked(wait time.Duration, markers ...string) string {
	var leaked []string
	for deadline := time.Now().Add(wait); ; time.Sleep(20 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		leaked = leaked[:0]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if !strings.Contains(g, "internal/leaktest.") && containsAny(g, markers) {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 || time.Now().After(deadline) {
			return strings.Join(leaked, "\n\n")
		}
	}
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
