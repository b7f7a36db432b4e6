package testbin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	once sync.Once
	path string
	err  error
)

// Weft builds cmd/weft once per test process and returns its path. The directory is
// world-readable: local meshes run the binary as the sidecars' uid 1337 or as nobody.
func Weft(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, e := os.MkdirTemp("", "weft-test-bin-")
		if e != nil {
			err = e
			return
		}
		if e := os.Chmod(dir, 0o755); e != nil {
			err = e
			return
		}
		path = filepath.Join(dir, "weft")
		cmd := exec.Command("go", "build", "-o", path, "./cmd/weft")
		cmd.Dir = root
		if out, e := cmd.CombinedOutput(); e != nil {
			err = fmt.Errorf("go build ./cmd/weft: %v: %s", e, out)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}
