package kubetest

import (
	"context"
	"os"
	"sync"
	"testing"
)

// shared is the cluster that the tests of one test binary share.
var shared struct {
	sync.Mutex
	main    bool // Main is running the tests
	cluster *Cluster
	dir     string
	err     error // starting failed; every test that asks fails with it
}

// Main runs a test package's tests, then stops the cluster Shared started, if any.
// A package whose tests call Shared calls Main from its TestMain:
//
//	func TestMain(m *testing.M) { kubetest.Main(m) }
func Main(m *testing.M) {
	shared.Lock()
	shared.main = true
	shared.Unlock()
	code := m.Run()
	shared.Lock()
	if shared.cluster != nil {
		shared.cluster.stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	shared.Unlock()
	os.Exit(code)
}

// Shared returns the cluster of the test binary, starting it for the first test that
// asks; Main stops it after the last. Tests sharing it keep apart by each working in
// its own Namespace. Without the binaries it fails or skips t as Start does.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	bin := requireBinaries(t)
	shared.Lock()
	defer shared.Unlock()
	if !shared.main {
		t.Fatal("kubetest.Shared needs the package's TestMain to call kubetest.Main, which stops the cluster after the tests")
	}
	if shared.cluster == nil && shared.err == nil {
		shared.dir, shared.err = os.MkdirTemp("", "kubetest-")
		if shared.err == nil {
			shared.cluster, shared.err = start(context.Background(), bin, shared.dir)
		}
	}
	if shared.err != nil {
		t.Fatalf("shared cluster: %v", shared.err)
	}
	return shared.cluster
}
