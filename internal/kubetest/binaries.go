package kubetest

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// The versions hack/kube/go.mod builds; TestVersions keeps them in step.
const (
	KubeVersion = "v1.34.4"
	EtcdVersion = "v3.6.4"
)

// The environment variables that decide where the binaries are and whether a test
// may skip without them.
const (
	// EnvBinaries names the directory holding the binaries. When it is set the
	// binaries are required: a test never skips (CI sets it).
	EnvBinaries = "WEFT_KUBE_BINARIES"
	// EnvSkip set to 1 skips the Kubernetes tests explicitly when EnvBinaries is unset.
	EnvSkip = "WEFT_SKIP_KUBE"
)

var binaryNames = []string{"etcd", "kube-apiserver", "kube-controller-manager"}

// DefaultBinDir is where hack/kube/build.sh puts the binaries when EnvBinaries is unset:
// ${XDG_CACHE_HOME:-$HOME/.cache}/weft/kube/k8s-<version>-etcd-<version>/bin.
func DefaultBinDir() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(cache, "weft", "kube", "k8s-"+KubeVersion+"-etcd-"+EtcdVersion, "bin"), nil
}

// binDir finds the binaries, or says why there are none and whether the test must
// fail (required) rather than skip.
func binDir() (dir string, required bool, err error) {
	dir, required = os.LookupEnv(EnvBinaries)
	if !required {
		if dir, err = DefaultBinDir(); err != nil {
			return "", false, fmt.Errorf("kube binaries: %w", err)
		}
	}
	for _, name := range binaryNames {
		if _, err := os.Stat(filepath.Join(dir, name)); err != nil {
			return "", required, fmt.Errorf("kube binaries: %s: %w", name, err)
		}
	}
	return dir, required, nil
}

// requireBinaries returns the directory of the binaries, or ends the test: it fails
// when the binaries are missing, and skips only when EnvSkip=1 and EnvBinaries is unset.
func requireBinaries(t testing.TB) string {
	t.Helper()
	dir, required, err := binDir()
	switch {
	case err == nil:
		return dir
	case required:
		t.Fatalf("%v\n%s=%s is set, so this Kubernetes test must run: build the binaries with hack/kube/build.sh", err, EnvBinaries, os.Getenv(EnvBinaries))
	case os.Getenv(EnvSkip) == "1":
		t.Skipf("Kubernetes test skipped: %s=1", EnvSkip)
	}
	t.Fatalf("%v\nthis test needs a real etcd, kube-apiserver and kube-controller-manager: build them with hack/kube/build.sh (about 10 minutes the first time), or set %s=1 to skip the Kubernetes tests explicitly", err, EnvSkip)
	return ""
}
