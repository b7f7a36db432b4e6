package kubetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"
)

// process is one child: etcd, kube-apiserver or kube-controller-manager, with its
// output in <dir>/<name>.log.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{} // closed when the process has exited
}

func startProcess(bin, dir, name string, args ...string) (*process, error) {
	p := &process{name: name, log: filepath.Join(dir, name+".log"), done: make(chan struct{})}
	out, err := os.Create(p.log)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	defer out.Close() // the child holds its own copy
	p.cmd = exec.Command(filepath.Join(bin, name), args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = out, out
	// The child dies with the test binary even when a timeout panic skips the cleanups.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// stop ends the process, gently first, and waits for it to exit.
func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports an error with the end of the log if the process is no longer running.
func (p *process) exited() error {
	select {
	case <-p.done:
		return fmt.Errorf("%s exited (%v):\n%s", p.name, p.cmd.ProcessState, p.tail(30))
	default:
		return nil
	}
}

// tail returns the last n lines of the process's log.
func (p *process) tail(n int) string {
	b, _ := os.ReadFile(p.log)
	lines := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return string(bytes.Join(lines, []byte("\n")))
}

// waitReady calls ready every 100 ms until it returns nil, failing early if p exits.
func waitReady(ctx context.Context, p *process, ready func(context.Context) error) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		try, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := ready(try)
		cancel()
		if err == nil {
			return nil
		}
		if exit := p.exited(); exit != nil {
			return exit
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last error: %v)\n%s", p.name, ctx.Err(), err, p.tail(30))
		case <-tick.C:
		}
	}
}

// errPortTaken says that a child could not bind a port freePorts handed out, because
// something else on the machine took it in between; starting again may succeed.
var errPortTaken = errors.New("port taken")

// portTaken wraps err with errPortTaken when p's log says that a bind failed.
func portTaken(p *process, err error) error {
	if b, _ := os.ReadFile(p.log); bytes.Contains(b, []byte("address already in use")) {
		return fmt.Errorf("%w: %w", errPortTaken, err)
	}
	return err
}

// freePorts returns n loopback ports that were free a moment ago. They come from below
// Linux's ephemeral range (32768-60999), which outgoing connections and listeners on
// port 0 draw from, so that no other program takes one before the child binds it.
func freePorts(n int) ([]int, error) {
	var ports []int
	for try := 0; len(ports) < n; try++ {
		if try == 1000 {
			return nil, errors.New("no free loopback port between 20000 and 32767")
		}
		port := 20000 + rand.IntN(32768-20000)
		if slices.Contains(ports, port) {
			continue
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			continue
		}
		l.Close()
		ports = append(ports, port)
	}
	return ports, nil
}

// flags turns name=value pairs into --name=value arguments, in order.
func flags(kv ...string) []string {
	args := make([]string, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		args = append(args, "--"+kv[i]+"="+kv[i+1])
	}
	return args
}
