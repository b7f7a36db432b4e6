package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// A proc is a long-running process the harness started: a proxy or an upstream.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error

	admin   int    // weft's admin port; 0 for other processes
	profile string // where weft's /cpuprofiler writes
}

// start runs bin with args, pinned to cpus with taskset when cpus is not empty, with
// its output in <work>/<name>.log. The process is stopped when the scenario ends.
func (e *env) start(ctx context.Context, name, cpus, bin string, args ...string) (*proc, error) {
	return e.startEnv(ctx, name, cpus, nil, bin, args...)
}

// startEnv is start with environ (KEY=value) added to the harness's environment.
func (e *env) startEnv(ctx context.Context, name, cpus string, environ []string, bin string, args ...string) (*proc, error) {
	if cpus != "" {
		ts, err := e.tool(ctx, "taskset")
		if err != nil {
			return nil, err
		}
		args = append([]string{"-c", cpus, bin}, args...)
		bin = ts
	}
	logPath := filepath.Join(e.work, name+".log")
	f, err := os.Create(logPath)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", name, err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, f
	if len(environ) > 0 {
		cmd.Env = append(os.Environ(), environ...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	e.mu.Lock()
	e.procs = append(e.procs, p)
	e.mu.Unlock()
	return p, nil
}

func (p *proc) pid() int { return p.cmd.Process.Pid }

// exited reports an error if the process has already stopped, with its log's tail.
func (p *proc) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v): %s", p.name, p.err, logTail(p.log))
	default:
		return nil
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after five seconds.
func (p *proc) stop() {
	pgid := -p.cmd.Process.Pid
	syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		syscall.Kill(pgid, syscall.SIGKILL)
		<-p.done
	}
}

// stopAll stops every process started so far.
func (e *env) stopAll() {
	e.mu.Lock()
	ps := e.procs
	e.procs = nil
	e.mu.Unlock()
	for _, p := range ps {
		p.stop()
	}
}

// waitPort waits until addr accepts TCP connections or the process exits.
func (p *proc) waitPort(ctx context.Context, addr string) error {
	deadline := time.Now().Add(20 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return nil
		}
		if err := p.exited(); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: %s not listening after 20s: %s", p.name, addr, logTail(p.log))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// freePort asks the kernel for an unused loopback port.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freePorts returns n distinct unused ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	seen := map[int]bool{}
	for len(ports) < n {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}

func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	s := strings.TrimSpace(string(b))
	if len(s) > 1500 {
		s = "..." + s[len(s)-1500:]
	}
	return s
}

func addr(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
