package validation

import (
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
)

// Stdin is the path that names standard input.
const Stdin = "-"

// LoadFiles reads the Istio objects of files and directories (walked recursively for
// .yaml, .yml and .json files, hidden ones left out, in name order), with the file
// store's parser: objects without a namespace get defaultNamespace, and every object is
// validated. Kinds of other API groups (Deployments, Services) are left out. The path
// "-" reads stdin. A path that cannot be read is an error.
func LoadFiles(paths []string, stdin io.Reader, defaultNamespace string) ([]Object, error) {
	var objs []Object
	for _, p := range paths {
		files, err := expand(p)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			data, err := read(f, stdin)
			if err != nil {
				return nil, err
			}
			objs = append(objs, parse(f, data, defaultNamespace)...)
		}
	}
	return objs, nil
}

// parse returns the Istio objects of one file. The items of a v1 List (what kubectl
// get -o yaml prints) are objects of the List's document.
func parse(name string, data []byte, defaultNamespace string) []Object {
	var objs []Object
	for _, d := range file.ParseFile(name, data, defaultNamespace) {
		switch {
		case d.Err != nil:
			objs = append(objs, Object{Err: d.Err})
		case d.Config != nil:
			objs = append(objs, Object{Config: d.Config, File: name, Line: d.Line, Document: d.Index})
		case d.Other != nil && d.Other.APIVersion == "v1" && d.Other.Kind == "List":
			objs = append(objs, listItems(name, d, defaultNamespace)...)
		}
	}
	return objs
}

// listItems returns the Istio objects among the items of a List document.
func listItems(name string, list file.Document, defaultNamespace string) []Object {
	var l struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(list.Other.JSON, &l); err != nil {
		return []Object{{Err: &config.ValidationError{File: name, Document: list.Index, Line: list.Line,
			Kind: "List", Fields: []config.FieldError{{Path: "items", Reason: err.Error()}}}}}
	}
	var objs []Object
	for _, item := range l.Items {
		for _, o := range parse(name, item, defaultNamespace) {
			o.Line, o.Document = list.Line, list.Index
			if o.Err != nil {
				o.Err.Line, o.Err.Document = list.Line, list.Index
			}
			objs = append(objs, o)
		}
	}
	return objs
}

func read(name string, stdin io.Reader) ([]byte, error) {
	if name == Stdin {
		return io.ReadAll(stdin)
	}
	return os.ReadFile(name)
}

// expand lists the config files a path names: itself, or the files under a directory.
func expand(path string) ([]string, error) {
	if path == Stdin {
		return []string{path}, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case p != path && strings.HasPrefix(d.Name(), "."):
			if d.IsDir() {
				return filepath.SkipDir
			}
		case !d.IsDir() && isConfigFile(d.Name()):
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	sort.Strings(files)
	return files, nil
}

// isConfigFile reports whether a file name has a config extension, as the file store
// reads them.
func isConfigFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}
