package webhook

import (
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/leaktest"
)

// TestMain fails the package if goroutines of the servers the tests start (Serve and
// its handlers) outlive the tests.
func TestMain(m *testing.M) {
	leaktest.Main(m, time.Second, "weftmesh/weft/internal/inject", "net/http.(*conn).serve")
}
