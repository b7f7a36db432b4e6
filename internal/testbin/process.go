package testbin

import (
	"bytes"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

// Process is a process a test started, and its output.
type Process struct {
	Cmd  *exec.Cmd
	Out  *Output
	Done chan struct{} // closed once the process has exited
}

// Start runs bin with args (and env; nil: the test's), kills it when the test ends, and
// logs its output if the test failed.
func Start(t testing.TB, bin string, env []string, args ...string) *Process {
	t.Helper()
	p := &Process{Cmd: exec.Command(bin, args...), Out: &Output{}, Done: make(chan struct{})}
	p.Cmd.Env = env
	p.Cmd.Stdout, p.Cmd.Stderr = p.Out, p.Out
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.Cmd.Wait(); close(p.Done) }()
	t.Cleanup(func() {
		p.Cmd.Process.Kill()
		<-p.Done
		if t.Failed() {
			t.Logf("weft %s output:\n%s", strings.Join(args[:min(len(args), 8)], " "), p.Out.String())
		}
	})
	return p
}

// Output is a process's output, safe for the process's writes and the test's reads.
type Output struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (o *Output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.Write(p)
}

// String returns the output so far.
func (o *Output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.b.String()
}
