package file

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/fsnotify/fsnotify"
)

// Run reads the directory, then watches it (and its subdirectories) until ctx ends,
// reading it again after every burst of changes. It returns an error only if the
// directory cannot be read or watched at the start; later problems are logged.
func (s *Store) Run(ctx context.Context) error {
	w, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("watch %s: %w", s.dir, err)
	}
	defer w.Close()
	if err := s.watchDirs(w); err != nil {
		return fmt.Errorf("watch %s: %w", s.dir, err)
	}
	if err := s.Reload(); err != nil {
		return err
	}
	return s.watchLoop(ctx, w)
}

// watchLoop debounces file system events: the directory is read once it has been
// quiet for the debounce period, or ten periods after the first event of a burst.
func (s *Store) watchLoop(ctx context.Context, w *fsnotify.Watcher) error {
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	var burstStart time.Time
	pending := false
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-w.Events:
			if !ok {
				return nil
			}
			if ev.Op == fsnotify.Chmod {
				continue
			}
			now := time.Now()
			if !pending {
				burstStart, pending = now, true
			}
			delay := s.debounce
			if now.Sub(burstStart) >= 10*s.debounce {
				delay = 0
			}
			timer.Reset(delay)
		case err, ok := <-w.Errors:
			if !ok {
				return nil
			}
			s.log.Warn("config watch error", "dir", s.dir, "error", err)
		case <-timer.C:
			pending = false
			if err := s.watchDirs(w); err != nil {
				s.log.Warn("config watch error", "dir", s.dir, "error", err)
			}
			if err := s.Reload(); err != nil {
				s.log.Warn("config reload failed", "dir", s.dir, "error", err)
			}
		}
	}
}

// watchDirs adds a watch for the directory and every visible subdirectory; adding an
// existing watch is harmless, so this also picks up new directories.
func (s *Store) watchDirs(w *fsnotify.Watcher) error {
	return filepath.WalkDir(s.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		if path != s.dir && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		return w.Add(path)
	})
}
