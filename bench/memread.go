package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"time"
)

// Memory after a config settles is read once the process has collected garbage:
// before that, the Go heap still holds what decoding the config left behind. An idle
// Go process collects at the latest two minutes after its last collection (the
// runtime forces one), so the harness starts weft with GODEBUG=gctrace=1, which prints
// one line per collection to its log, and reads a process as soon as its log shows a
// collection that came after the process settled. The trace costs nothing on the heap.

// gcTrace is the environment that makes a Go process log its garbage collections.
const gcTrace = "GODEBUG=gctrace=1"

// memReading is a process's memory once its config has settled.
type memReading struct {
	RSS     float64 `json:"rss_bytes"`
	Anon    float64 `json:"rss_anon_bytes"`
	File    float64 `json:"rss_file_bytes"`
	Heap    float64 `json:"go_heap_bytes"`
	AfterGC bool    `json:"read_after_gc"`
}

// A memTarget is a process to read once it has collected garbage after settling.
type memTarget struct {
	p    *proc
	heap func() (float64, error) // the Go heap in bytes (HeapAlloc)
	gcs  int                     // collections in its log when it settled
	need int                     // collections to wait for after that
	into *memReading
}

// newMemTarget records how many collections p has made so far: call it once p's
// config has settled.
func newMemTarget(p *proc, heap func() (float64, error), into *memReading) *memTarget {
	return &memTarget{p: p, heap: heap, gcs: gcCount(p.log), need: 1, into: into}
}

// readAfterGC reads every target once its log shows a collection after it settled,
// or when wait has passed (then AfterGC stays false).
func readAfterGC(ctx context.Context, targets []*memTarget, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for len(targets) > 0 {
		var rest []*memTarget
		for _, t := range targets {
			collected := gcCount(t.p.log) >= t.gcs+t.need
			if !collected && time.Now().Before(deadline) {
				rest = append(rest, t)
				continue
			}
			if err := t.read(collected); err != nil {
				return err
			}
		}
		targets = rest
		if len(targets) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
	return nil
}

func (t *memTarget) read(collected bool) error {
	if err := t.p.exited(); err != nil {
		return err
	}
	heap, err := t.heap()
	if err != nil {
		return fmt.Errorf("%s heap: %w", t.p.name, err)
	}
	m, err := procMem(t.p.pid())
	if err != nil {
		return fmt.Errorf("%s: %w", t.p.name, err)
	}
	*t.into = memReading{RSS: float64(m.rss), Anon: float64(m.anon), File: float64(m.file), Heap: heap, AfterGC: collected}
	return nil
}

// gcCount counts the lines "gc N @..." that GODEBUG=gctrace=1 wrote to a log.
func gcCount(log string) int {
	b, err := os.ReadFile(log)
	if err != nil {
		return 0
	}
	n := 0
	for _, l := range bytes.Split(b, []byte("\n")) {
		if bytes.HasPrefix(l, []byte("gc ")) && bytes.Contains(l, []byte(" @")) {
			n++
		}
	}
	return n
}

// notReadAfterGC counts the readings taken before a collection.
func notReadAfterGC(rs []memReading) int {
	n := 0
	for _, r := range rs {
		if !r.AfterGC {
			n++
		}
	}
	return n
}
