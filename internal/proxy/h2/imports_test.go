package h2

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImportBoundaries enforces doc.go: from weft, h2 imports only header, and it does
// not use net/http's server.
func TestImportBoundaries(t *testing.T) {
	files, err := filepath.Glob("*.go")
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
			weft := strings.HasPrefix(path, "github.com/weftmesh/weft/")
			if (weft && path != "github.com/weftmesh/weft/internal/proxy/header") || path == "net/http" {
				t.Errorf("%s imports %s", file, path)
			}
		}
	}
}
