package accesslog

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// Defaults for a Manager, as Envoy's: flush every second or once 64 KiB are pending.
const (
	defaultFlushInterval = time.Second
	defaultFlushSize     = 64 << 10
	defaultBufferLimit   = 4 << 20
)

// Option configures a Manager.
type Option func(*options)

type options struct {
	stdout, stderr io.Writer
	flushInterval  time.Duration
	flushSize      int
	bufferLimit    int
	logger         *slog.Logger
}

// WithStdout sets where envoy.access_loggers.stdout writes (default os.Stdout).
func WithStdout(w io.Writer) Option { return func(o *options) { o.stdout = w } }

// WithStderr sets where envoy.access_loggers.stderr writes (default os.Stderr).
func WithStderr(w io.Writer) Option { return func(o *options) { o.stderr = w } }

// WithFlushInterval sets how often pending entries are written out (default 1s, as
// Envoy's file_flush_interval).
func WithFlushInterval(d time.Duration) Option {
	return func(o *options) {
		if d > 0 {
			o.flushInterval = d
		}
	}
}

// WithBufferLimit sets how many bytes may wait for the disk per output (default 4 MiB);
// entries that do not fit are dropped and counted.
func WithBufferLimit(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.bufferLimit = n
			o.flushSize = min(o.flushSize, n)
		}
	}
}

// WithLogger sets the logger for write and close errors (default: discard).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.logger = l } }

// Manager owns the access log outputs: one writer per file path, shared by every
// logger that names the path, and one each for stdout and stderr. Writers are kept
// until Close, as Envoy's access log manager keeps its files. A Manager is safe for
// concurrent use.
type Manager struct {
	opts options
	bufs sync.Pool // of *[]byte, formatting buffers for Log

	mu      sync.Mutex
	writers map[string]*writer
	closed  bool
}

// Keys for the standard streams in Manager.writers; a path cannot contain NUL.
const (
	stdoutKey = "\x00stdout"
	stderrKey = "\x00stderr"
)

// NewManager returns a Manager. Call Close to flush and release its files.
func NewManager(opts ...Option) *Manager {
	o := options{
		stdout:        os.Stdout,
		stderr:        os.Stderr,
		flushInterval: defaultFlushInterval,
		flushSize:     defaultFlushSize,
		bufferLimit:   defaultBufferLimit,
	}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = slog.New(slog.DiscardHandler)
	}
	m := &Manager{opts: o, writers: map[string]*writer{}}
	m.bufs.New = func() any {
		b := make([]byte, 0, 1024)
		return &b
	}
	return m
}

var errClosed = errors.New("access log manager is closed")

// path returns the writer for a FileAccessLog path. /dev/stdout and /dev/stderr, which
// Istio configures, share the stdout and stderr writers (and so their Manager options).
func (m *Manager) path(p string) (*writer, error) {
	switch p {
	case "/dev/stdout":
		return m.stream(stdoutKey)
	case "/dev/stderr":
		return m.stream(stderrKey)
	}
	return m.file(p)
}

// file returns the writer for path, opening the file on first use.
func (m *Manager) file(path string) (*writer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	if w, ok := m.writers[path]; ok {
		return w, nil
	}
	f, err := openLogFile(path)
	if err != nil {
		return nil, err
	}
	w := m.newWriter(path, f, f)
	m.writers[path] = w
	return w, nil
}

// stream returns the writer for stdout or stderr.
func (m *Manager) stream(key string) (*writer, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	if w, ok := m.writers[key]; ok {
		return w, nil
	}
	out, name := m.opts.stdout, "stdout"
	if key == stderrKey {
		out, name = m.opts.stderr, "stderr"
	}
	w := m.newWriter(name, out, nil)
	m.writers[key] = w
	return w, nil
}

// newWriter starts a writer; f is the file when the output is a path to reopen.
func (m *Manager) newWriter(name string, out io.Writer, f *os.File) *writer {
	w := &writer{
		name:       name,
		reopenable: f != nil,
		limit:      m.opts.bufferLimit,
		flushAt:    m.opts.flushSize,
		log:        m.opts.logger,
		kick:       make(chan struct{}, 1),
		reopen:     make(chan chan error),
		done:       make(chan struct{}),
		exited:     make(chan struct{}),
		out:        out,
		file:       f,
	}
	go w.run(m.opts.flushInterval)
	return w
}

func openLogFile(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open access log: %w", err)
	}
	return f, nil
}

// snapshot returns the current writers.
func (m *Manager) snapshot() []*writer {
	m.mu.Lock()
	defer m.mu.Unlock()
	ws := make([]*writer, 0, len(m.writers))
	for _, w := range m.writers {
		ws = append(ws, w)
	}
	return ws
}

// Reopen flushes every access log file and reopens it by path, so that logs go to a
// new file after rotation (SIGUSR1, admin /reopen_logs). A file that cannot be
// reopened keeps its old descriptor; the errors are joined.
func (m *Manager) Reopen() error {
	var errs []error
	for _, w := range m.snapshot() {
		if !w.reopenable {
			continue
		}
		if err := w.requestReopen(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Dropped returns how many entries were dropped because an output's buffer was full
// or the Manager was closed.
func (m *Manager) Dropped() uint64 {
	var n uint64
	for _, w := range m.snapshot() {
		n += w.dropped.Load()
	}
	return n
}

// Close flushes every output, closes the files and stops the flush goroutines. Later
// entries are dropped. Close is idempotent.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	var errs []error
	for _, w := range m.snapshot() {
		if err := w.close(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}
