package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// env is what a scenario runs with: the built weft binary, the tools, a work
// directory for configs and logs, and the processes started so far.
type env struct {
	options
	root    string
	work    string
	weft    string
	version string // the commit weft was built from, read when it was built
	machine machine
	tools   *toolbox

	mu    sync.Mutex
	procs []*proc
}

func newEnv(ctx context.Context, o options) (*env, error) {
	root, err := repoRoot()
	if err != nil {
		return nil, err
	}
	if o.reps <= 0 {
		o.reps = 3
		if o.quick {
			o.reps = 1
		}
	}
	if o.out == "" {
		o.out = filepath.Join(root, "docs", "benchmarks")
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, fmt.Errorf("output directory: %w", err)
	}
	work, err := os.MkdirTemp("", "weft-bench-")
	if err != nil {
		return nil, fmt.Errorf("work directory: %w", err)
	}
	raiseNoFile()
	e := &env{options: o, root: root, work: work, tools: newToolbox(work)}
	if o.weft != "" {
		if e.weft, err = filepath.Abs(o.weft); err != nil {
			return nil, fmt.Errorf("--weft: %w", err)
		}
		e.version = "given by --weft"
		return e, nil
	}
	e.version = weftVersion(root)
	if e.weft, err = buildWeft(ctx, root, work); err != nil {
		e.close()
		return nil, err
	}
	return e, nil
}

func (e *env) close() {
	e.stopAll()
	if e.keep {
		fmt.Println("work directory kept:", e.work)
		return
	}
	os.RemoveAll(e.work)
}

// dur picks the full or the --quick duration of a measurement.
func (e *env) dur(full, quick time.Duration) time.Duration {
	if e.quick {
		return quick
	}
	return full
}

// dir makes a fresh directory under the work directory.
func (e *env) dir(name string) (string, error) {
	d := filepath.Join(e.work, name)
	if err := os.MkdirAll(d, 0o755); err != nil {
		return "", fmt.Errorf("work directory %s: %w", name, err)
	}
	return d, nil
}

// buildWeft builds ./cmd/weft into the work directory. Another developer may be in
// the middle of a change, so a failed build is retried for a few minutes.
func buildWeft(ctx context.Context, root, work string) (string, error) {
	bin := filepath.Join(work, "bin", "weft")
	fmt.Println("building weft ...")
	var last []byte
	for attempt := range 6 {
		if attempt > 0 {
			fmt.Printf("go build ./cmd/weft failed; retrying in 30s:\n%s", last)
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(30 * time.Second):
			}
		}
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/weft")
		cmd.Dir = root
		out, err := cmd.CombinedOutput()
		if err == nil {
			return bin, nil
		}
		last = out
	}
	return "", fmt.Errorf("go build ./cmd/weft: %s", last)
}

// weftVersion names the commit weft was built from, read-only.
func weftVersion(root string) string {
	cmd := exec.Command("git", "describe", "--always", "--dirty")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
