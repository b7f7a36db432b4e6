package file_test

import (
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/leaktest"
)

// TestMain fails the package if goroutines started by the code under test outlive the
// tests.
func TestMain(m *testing.M) {
	leaktest.Main(m, time.Second, leaktest.Weft)
}
