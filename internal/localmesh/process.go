package localmesh

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// Process is one program of a pod: an app or a sidecar.
type Process struct {
	// Name identifies the process in logs ("reviews-v1-0/istio-proxy").
	Name string
	// Netns is the network namespace to run in ("" for the host's).
	Netns string
	// UID runs the program as that user (the proxy's 1337); 0 keeps root.
	UID int
	// Path and Args are the program and its arguments (Args without the program).
	Path string
	Args []string
	Env  []string
}

// Supervisor starts processes, keeps their output in log files and stops them all.
type Supervisor struct {
	// Self is the weft binary, for `weft __runas`.
	Self   string
	LogDir string

	mu    sync.Mutex
	procs []*running
}

type running struct {
	p    Process
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// command builds the exec.Cmd: `ip netns exec` for a pod's namespace, and `weft
// __runas` to drop to the process's uid.
func (s *Supervisor) command(ctx context.Context, p Process) *exec.Cmd {
	argv := append([]string{p.Path}, p.Args...)
	if p.UID != 0 {
		argv = append([]string{s.Self, "__runas", "--uid", fmt.Sprint(p.UID), "--gid", fmt.Sprint(p.UID), "--"}, argv...)
	}
	if p.Netns != "" {
		argv = append([]string{"ip", "netns", "exec", p.Netns}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), p.Env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	return cmd
}

// Start starts a process; its output goes to LogDir/<name>.log.
func (s *Supervisor) Start(ctx context.Context, p Process) error {
	cmd := s.command(ctx, p)
	logPath := filepath.Join(s.LogDir, safeName(p.Name)+".log")
	if err := os.MkdirAll(s.LogDir, 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	r := &running{p: p, cmd: cmd, done: make(chan struct{})}
	go func() {
		r.err = cmd.Wait()
		f.Close()
		close(r.done)
	}()
	s.mu.Lock()
	s.procs = append(s.procs, r)
	s.mu.Unlock()
	return nil
}

// Exited reports the processes that have exited, with their errors.
func (s *Supervisor) Exited() map[string]error {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]error{}
	for _, r := range s.procs {
		select {
		case <-r.done:
			out[r.p.Name] = r.err
		default:
		}
	}
	return out
}

// Stop stops every process: SIGTERM to its process group, SIGKILL after grace, in
// reverse start order (apps before their sidecars).
func (s *Supervisor) Stop(grace time.Duration) {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		syscall.Kill(-procs[i].cmd.Process.Pid, syscall.SIGTERM)
	}
	deadline := time.After(grace)
	for _, r := range procs {
		select {
		case <-r.done:
		case <-deadline:
			syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
			<-r.done
		}
	}
}

func safeName(s string) string {
	out := []byte(s)
	for i, c := range out {
		if c == '/' || c == ' ' {
			out[i] = '_'
		}
	}
	return string(out)
}
