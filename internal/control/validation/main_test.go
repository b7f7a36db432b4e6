package validation_test

import (
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the package if goroutines of the servers the tests start outlive
// the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if leak := leakedGoroutines(); leak != "" {
			os.Stderr.WriteString("goroutines leaked:\n" + leak)
			code = 1
		}
	}
	os.Exit(code)
}

// leakedGoroutines waits up to a second for goroutines running weft code or net/http
// servers to end, and returns the stacks of those that remain.
func leakedGoroutines() string {
	var leaked []string
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		leaked = leaked[:0]
		for _, g := range strings.Split(string(buf), "\n\n") {
			if (strings.Contains(g, "weftmesh/weft/internal/") || strings.Contains(g, "net/http.(*conn).serve")) &&
				!strings.Contains(g, "TestMain") && !strings.Contains(g, "leakedGoroutines") {
				leaked = append(leaked, g)
			}
		}
		if len(leaked) == 0 {
			return ""
		}
	}
	return strings.Join(leaked, "\n\n")
}
