package kube

import (
	"os"
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/leaktest"
)

// TestMain fails the package if goroutines started by the code under test outlive the
// tests.
func TestMain(m *testing.M) {
	// istio.io/client-go's fake clientset predates client-go's streaming lists, which
	// its informers use by default: without this they never sync against the fake.
	os.Setenv("KUBE_FEATURE_WatchListClient", "false")
	leaktest.Main(m, time.Second, leaktest.Weft)
}
