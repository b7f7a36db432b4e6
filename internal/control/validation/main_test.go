package validation_test

import (
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/leaktest"
)

// TestMain fails the package if goroutines of the servers the tests start outlive
// the tests.
func TestMain(m *testing.M) {
	leaktest.Main(m, time.Second, leaktest.Weft, "net/http.(*conn).serve")
}
