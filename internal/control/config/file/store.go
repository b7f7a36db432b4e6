package file

import (
	"crypto/sha256"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/weftmesh/weft/internal/control/config"
)

// Store is a config.Store over a directory of Istio YAML and JSON files, read
// recursively. Invalid documents are reported by Errors and skipped; the previous
// version of an object whose document became invalid is kept until the document is
// fixed or removed. Run watches the directory.
type Store struct {
	dir              string
	defaultNamespace string
	debounce         time.Duration
	log              *slog.Logger

	reloadMu sync.Mutex            // serializes Reload
	files    map[string]*fileState // by path; guarded by reloadMu

	mu       sync.RWMutex
	byKey    map[string]config.Config
	lists    map[config.Kind][]config.Config
	errs     []*config.ValidationError
	skipped  []Object
	handlers []func(config.Event)

	synced atomic.Bool
}

var _ config.Store = (*Store)(nil)

// fileState is the parsed content of one file, kept to skip unchanged files.
type fileState struct {
	sum  [32]byte
	docs []Document
}

// Option configures a Store.
type Option func(*Store)

// WithDefaultNamespace sets the namespace of objects without metadata.namespace
// ("default" unless set).
func WithDefaultNamespace(ns string) Option { return func(s *Store) { s.defaultNamespace = ns } }

// WithDebounce sets how long the directory must be quiet before a change is read
// (100 ms unless set). A burst of changes is read at the latest after ten times that.
func WithDebounce(d time.Duration) Option { return func(s *Store) { s.debounce = d } }

// WithLogger sets the logger for rejected documents and watch problems (discarded
// unless set).
func WithLogger(l *slog.Logger) Option { return func(s *Store) { s.log = l } }

// New returns a store over dir. Nothing is read until Reload or Run.
func New(dir string, opts ...Option) *Store {
	s := &Store{dir: dir, defaultNamespace: "default", debounce: 100 * time.Millisecond,
		log: slog.New(slog.DiscardHandler), files: map[string]*fileState{}, byKey: map[string]config.Config{}}
	for _, o := range opts {
		o(s)
	}
	return s
}

// List returns the objects of a kind, sorted by namespace then name.
func (s *Store) List(kind config.Kind) []config.Config {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.lists[kind])
}

// Subscribe adds a handler called after every change, in order, from the goroutine that
// read the change. Handlers must not block.
func (s *Store) Subscribe(handler func(config.Event)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.handlers = append(s.handlers, handler)
}

// HasSynced reports whether the directory has been read once.
func (s *Store) HasSynced() bool { return s.synced.Load() }

// Errors returns the documents currently rejected, in file and document order.
func (s *Store) Errors() []*config.ValidationError {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.errs)
}

// Skipped returns the objects of other kinds (Deployment, Service, ...) found in the
// files, in file and document order.
func (s *Store) Skipped() []Object {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return slices.Clone(s.skipped)
}

// Reload reads the directory now, updates the store and calls the handlers with what
// changed. It fails only when the directory cannot be read at all; invalid documents
// are reported by Errors.
func (s *Store) Reload() error {
	s.reloadMu.Lock()
	defer s.reloadMu.Unlock()
	paths, err := s.scan()
	if err != nil {
		return fmt.Errorf("config dir %s: %w", s.dir, err)
	}
	readErrs := s.readFiles(paths)
	next, errs, skipped := s.merge(readErrs)
	events := s.swap(next, errs, skipped)
	s.mu.RLock()
	handlers := slices.Clone(s.handlers)
	s.mu.RUnlock()
	for _, ev := range events {
		for _, h := range handlers {
			h(ev)
		}
	}
	s.synced.Store(true)
	return nil
}

// scan lists the config files under the directory, sorted. Hidden files and
// directories (".git", Kubernetes' "..data") are skipped; symbolic links to files are
// followed.
func (s *Store) scan() ([]string, error) {
	if _, err := os.Stat(s.dir); err != nil {
		return nil, err
	}
	var paths []string
	err := filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != s.dir && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !isConfigFile(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			if fi, err := os.Stat(path); err != nil || !fi.Mode().IsRegular() {
				return nil
			}
		}
		paths = append(paths, path)
		return nil
	})
	sort.Strings(paths)
	return paths, err
}

// isConfigFile reports whether a file name has a config extension.
func isConfigFile(name string) bool {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".yaml", ".yml", ".json":
		return true
	}
	return false
}

// readFiles reads and parses the files that changed and forgets the ones that are gone.
// A file that cannot be read keeps its previous content, and the error is returned.
func (s *Store) readFiles(paths []string) []*config.ValidationError {
	var errs []*config.ValidationError
	seen := map[string]bool{}
	for _, p := range paths {
		seen[p] = true
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, &config.ValidationError{File: p, Fields: []config.FieldError{{Reason: fmt.Sprintf("cannot read: %v", err)}}})
			continue
		}
		sum := sha256.Sum256(data)
		if prev, ok := s.files[p]; ok && prev.sum == sum {
			continue
		}
		s.files[p] = &fileState{sum: sum, docs: ParseFile(p, data, s.defaultNamespace)}
	}
	for p := range s.files {
		if !seen[p] {
			delete(s.files, p)
		}
	}
	return errs
}
