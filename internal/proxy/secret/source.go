package secret

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// inlinePath is what Envoy's /certs shows as the path of inline data.
const inlinePath = "<inline>"

// pollInterval is how often, at most, a file-backed value checks its files.
const pollInterval = time.Second

// source yields the current value of something that may change under a built config:
// a key pair, a CA bundle, a compiled validation context. get is called on the
// handshake path and must be safe for concurrent use.
type source[T any] interface {
	get() (*T, error)
}

// fixed is a source whose value never changes: inline data.
type fixed[T any] struct{ v *T }

func (f fixed[T]) get() (*T, error) { return f.v, nil }

// watched is a source loaded from files and loaded again when one of them changes. The
// check runs at most once per pollInterval, in the caller of get that wins the race for
// it; the others keep using the current value meanwhile. A load that fails keeps the
// last good value, logs, and is retried at the next check.
type watched[T any] struct {
	paths []string
	load  func() (*T, error)
	clock func() time.Time
	log   *slog.Logger

	val  atomic.Pointer[T]
	next atomic.Int64 // unix nanoseconds of the next check

	mu    sync.Mutex    // held while checking and loading
	stats []os.FileInfo // of the files the current value was loaded from
}

// newWatched loads the value once; a config with unreadable files fails to build.
func newWatched[T any](paths []string, load func() (*T, error), clock func() time.Time, log *slog.Logger) (*watched[T], error) {
	w := &watched[T]{paths: paths, load: load, clock: clock, log: log}
	stats, err := statAll(paths)
	if err != nil {
		return nil, err
	}
	v, err := load()
	if err != nil {
		return nil, err
	}
	w.val.Store(v)
	w.stats = stats
	w.next.Store(clock().Add(pollInterval).UnixNano())
	return w, nil
}

func (w *watched[T]) get() (*T, error) {
	now := w.clock().UnixNano()
	if next := w.next.Load(); now >= next && w.next.CompareAndSwap(next, now+int64(pollInterval)) {
		w.refresh()
	}
	return w.val.Load(), nil
}

// refresh loads the value again if a file changed since the last good load.
func (w *watched[T]) refresh() {
	w.mu.Lock()
	defer w.mu.Unlock()
	stats, err := statAll(w.paths)
	if err != nil {
		w.log.Warn("tls files not readable, keeping the current value", "files", w.paths, "error", err)
		return
	}
	if !changed(w.stats, stats) {
		return
	}
	v, err := w.load()
	if err != nil {
		w.log.Warn("tls files changed but do not load, keeping the current value", "files", w.paths, "error", err)
		return
	}
	w.val.Store(v)
	w.stats = stats
	w.log.Info("tls files reloaded", "files", w.paths)
}

func statAll(paths []string) ([]os.FileInfo, error) {
	stats := make([]os.FileInfo, len(paths))
	for i, p := range paths {
		fi, err := os.Stat(p)
		if err != nil {
			return nil, err
		}
		stats[i] = fi
	}
	return stats, nil
}

// changed reports whether any file differs in identity (a new file renamed into place,
// a Kubernetes secret volume's symlink swap), size or modification time.
func changed(old, cur []os.FileInfo) bool {
	for i := range cur {
		o, c := old[i], cur[i]
		if !os.SameFile(o, c) || o.Size() != c.Size() || !o.ModTime().Equal(c.ModTime()) {
			return true
		}
	}
	return false
}

// data is the content of an Envoy DataSource, and where it came from.
type data struct {
	bytes []byte
	path  string // the file name, or inlinePath
}

// readData reads a DataSource: a file, inline bytes or an inline string.
func readData(ds *corev3.DataSource) (data, error) {
	switch s := ds.GetSpecifier().(type) {
	case *corev3.DataSource_Filename:
		b, err := os.ReadFile(s.Filename)
		if err != nil {
			return data{}, fmt.Errorf("filename: %w", err)
		}
		return data{bytes: b, path: s.Filename}, nil
	case *corev3.DataSource_InlineBytes:
		return data{bytes: s.InlineBytes, path: inlinePath}, nil
	case *corev3.DataSource_InlineString:
		return data{bytes: []byte(s.InlineString), path: inlinePath}, nil
	case nil:
		return data{}, errors.New("no data: one of filename, inline_bytes, inline_string is required")
	default:
		return data{}, fmt.Errorf("%T not supported by weft", s)
	}
}

// sourceOf returns a source for a value parsed from data sources: fixed when all are
// inline, watched when some are files.
func sourceOf[T any](m *Manager, dss []*corev3.DataSource, parse func([]data) (*T, error)) (source[T], error) {
	load := func() (*T, error) {
		ds := make([]data, len(dss))
		for i, s := range dss {
			d, err := readData(s)
			if err != nil {
				return nil, err
			}
			ds[i] = d
		}
		return parse(ds)
	}
	var paths []string
	for _, s := range dss {
		if f := s.GetFilename(); f != "" {
			paths = append(paths, f)
		}
	}
	if len(paths) == 0 {
		v, err := load()
		if err != nil {
			return nil, err
		}
		return fixed[T]{v}, nil
	}
	return newWatched(paths, load, m.clock, m.log)
}
