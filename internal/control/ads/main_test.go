package ads

import (
	"testing"
	"time"

	"github.com/weftmesh/weft/internal/leaktest"
)

// TestMain fails the run when goroutines of the server, gRPC or net/http outlive the
// tests.
func TestMain(m *testing.M) {
	leaktest.Main(m, 5*time.Second, "weftmesh/weft", "google.golang.org/grpc", "net/http")
}
