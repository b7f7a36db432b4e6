package route

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportBoundaries enforces doc.go: route and routecheck import nothing from the
// control plane, the connection manager, HTTP filters, upstream or Kubernetes.
func TestImportBoundaries(t *testing.T) {
	forbidden := []string{
		"github.com/weftmesh/weft/internal/control",
		"github.com/weftmesh/weft/internal/proxy/hcm",
		"github.com/weftmesh/weft/internal/proxy/httpfilter",
		"github.com/weftmesh/weft/internal/proxy/upstream",
		"github.com/weftmesh/weft/internal/proxy/lb",
		"github.com/weftmesh/weft/internal/proxy/connpool",
		"github.com/weftmesh/weft/internal/cli",
		"k8s.io/",
	}
	for _, dir := range []string{".", "routecheck"} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(token.NewFileSet(), file, nil, parser.ImportsOnly)
			if err != nil {
				t.Fatal(err)
			}
			for _, imp := range f.Imports {
				path, _ := strconv.Unquote(imp.Path.Value)
				for _, bad := range forbidden {
					if strings.HasPrefix(path, bad) {
						t.Errorf("%s imports %s", file, path)
					}
				}
			}
		}
	}
}
