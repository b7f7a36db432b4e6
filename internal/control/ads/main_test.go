package ads

import (
	"fmt"
	"os"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestMain fails the run when goroutines of the server, gRPC or net/http outlive the
// tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if code == 0 {
		if err := leaked(5 * time.Second); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	os.Exit(code)
}

func leaked(wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		buf := make([]byte, 1<<20)
		buf = buf[:runtime.Stack(buf, true)]
		var bad []string
		for _, g := range strings.Split(string(buf), "\n\n") {
			if strings.Contains(g, "ads.TestMain") || strings.Contains(g, "ads.leaked") {
				continue
			}
			if strings.Contains(g, "weftmesh/weft") || strings.Contains(g, "google.golang.org/grpc") ||
				strings.Contains(g, "net/http") {
				bad = append(bad, g)
			}
		}
		if len(bad) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d goroutines leaked:\n\n%s", len(bad), strings.Join(bad, "\n\n"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}
