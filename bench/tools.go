package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// A toolSpec says how to find, install and version one external tool.
type toolSpec struct {
	apt     string   // Debian package, or
	goPkg   string   // go install path@version
	version []string // arguments that print the version
}

var toolSpecs = map[string]toolSpec{
	"fortio":  {goPkg: "fortio.org/fortio@v1.68.2", version: []string{"version"}},
	"ghz":     {goPkg: "github.com/bojand/ghz/cmd/ghz@v0.93.0", version: []string{"--version"}},
	"nginx":   {apt: "nginx", version: []string{"-v"}},
	"haproxy": {apt: "haproxy", version: []string{"-v"}},
	"h2load":  {apt: "nghttp2-client", version: []string{"--version"}},
	"taskset": {apt: "util-linux", version: []string{"--version"}},
}

// toolbox finds tools, installing the missing ones once, and remembers failures so
// that every scenario reports the same reason.
type toolbox struct {
	work       string
	mu         sync.Mutex
	paths      map[string]string
	errs       map[string]error
	aptUpdated bool
}

func newToolbox(work string) *toolbox {
	return &toolbox{work: work, paths: map[string]string{}, errs: map[string]error{}}
}

// tool returns the path of the named tool, installing it if it is missing.
func (e *env) tool(ctx context.Context, name string) (string, error) {
	return e.tools.path(ctx, name)
}

func (t *toolbox) path(ctx context.Context, name string) (string, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if p, ok := t.paths[name]; ok {
		return p, nil
	}
	if err, ok := t.errs[name]; ok {
		return "", err
	}
	p, err := t.find(name)
	if err != nil {
		fmt.Printf("installing %s ...\n", name)
		if err = t.install(ctx, name); err == nil {
			p, err = t.find(name)
		}
	}
	if err != nil {
		err = fmt.Errorf("%s is not available and could not be installed: %w", name, err)
		t.errs[name] = err
		return "", err
	}
	t.paths[name] = p
	return p, nil
}

// find looks on PATH, in the sbin directories and in the Go bin directory.
func (t *toolbox) find(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return p, nil
	}
	dirs := []string{"/usr/sbin", "/usr/local/sbin", "/sbin", goBin()}
	for _, d := range dirs {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found on PATH or in %s", name, strings.Join(dirs, ", "))
}

func (t *toolbox) install(ctx context.Context, name string) error {
	spec, ok := toolSpecs[name]
	switch {
	case !ok:
		return fmt.Errorf("no install recipe for %s", name)
	case spec.goPkg != "":
		cmd := exec.CommandContext(ctx, "go", "install", spec.goPkg)
		cmd.Dir = t.work // outside any module
		cmd.Env = append(os.Environ(), "GOFLAGS=")
		return runQuiet(cmd)
	}
	if err := t.aptInstall(ctx, spec.apt); err == nil || t.aptUpdated {
		return err
	}
	t.aptUpdated = true
	if err := runQuiet(exec.CommandContext(ctx, "apt-get", "update", "-q")); err != nil {
		return fmt.Errorf("apt-get update: %w", err)
	}
	return t.aptInstall(ctx, spec.apt)
}

func (t *toolbox) aptInstall(ctx context.Context, pkg string) error {
	cmd := exec.CommandContext(ctx, "apt-get", "install", "-y", "-q", "--no-install-recommends", pkg)
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	return runQuiet(cmd)
}

// versions lists the version of every tool found so far, for the report.
func (e *env) versions() map[string]string {
	t := e.tools
	t.mu.Lock()
	defer t.mu.Unlock()
	// The commit at the build: others may commit while a long scenario runs.
	v := map[string]string{"weft": e.version}
	for name, p := range t.paths {
		out, _ := exec.Command(p, toolSpecs[name].version...).CombinedOutput()
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		v[name] = line
	}
	for name, err := range t.errs {
		v[name] = "not available: " + err.Error()
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// goBin is where go install puts binaries.
func goBin() string {
	out, err := exec.Command("go", "env", "GOBIN", "GOPATH").Output()
	if err != nil {
		return filepath.Join(os.Getenv("HOME"), "go", "bin")
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) > 0 && lines[0] != "" {
		return lines[0]
	}
	gopath, _, _ := strings.Cut(lines[len(lines)-1], string(os.PathListSeparator))
	return filepath.Join(gopath, "bin")
}

// runQuiet runs cmd and returns its output in the error when it fails.
func runQuiet(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		tail := out.String()
		if len(tail) > 2000 {
			tail = tail[len(tail)-2000:]
		}
		return fmt.Errorf("%s: %w\n%s", strings.Join(cmd.Args, " "), err, tail)
	}
	return nil
}
