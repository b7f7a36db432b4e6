package localmesh

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/weftmesh/weft/internal/control/config"
	"github.com/weftmesh/weft/internal/control/config/file"
)

// State records what a running mesh made, so that `weft down` can remove it after the
// mesh was killed, and `weft apply` can find the mesh.
type State struct {
	Dir    string   `json:"dir"`
	PID    int      `json:"pid"`
	Mode   Mode     `json:"mode"`
	Bridge string   `json:"bridge"`
	Prefix string   `json:"prefix"`
	Netns  []string `json:"netns"`
}

func (s *State) path() string { return filepath.Join(s.Dir, "state.json") }

// Save writes the state.
func (s *State) Save() error {
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(s.path(), data, 0o644)
}

// Remove deletes the state directory.
func (s *State) Remove() { os.RemoveAll(s.Dir) }

// LoadState reads the state of the mesh in dir.
func LoadState(dir string) (*State, error) {
	data, err := os.ReadFile(filepath.Join(dir, "state.json"))
	if err != nil {
		return nil, err
	}
	s := &State{}
	if err := json.Unmarshal(data, s); err != nil {
		return nil, err
	}
	s.Dir = dir
	return s, nil
}

// Running reports whether the mesh's process is alive.
func (s *State) Running() bool {
	return s.PID > 0 && syscall.Kill(s.PID, 0) == nil
}

// Cleanup removes what a dead mesh left behind: its namespaces (and the processes in
// them), files, bridge and firewall rule.
func (s *State) Cleanup(ctx context.Context) error {
	if s.Running() {
		return errors.New("the mesh is still running: stop it with Ctrl-C (or kill its process) first")
	}
	// Host-mode processes die with weft up (their parent-death signal); namespaces
	// and the bridge outlive it.
	if s.Bridge != "" {
		n := DefaultNetwork()
		n.Bridge, n.Prefix = s.Bridge, s.Prefix
		for _, ns := range s.Netns {
			killNetnsProcesses(ctx, ns)
			n.DeletePod(ctx, ns)
		}
		n.Down(ctx)
	}
	s.Remove()
	return nil
}

// killNetnsProcesses kills whatever still runs in a namespace.
func killNetnsProcesses(ctx context.Context, ns string) {
	out, err := execOutput(ctx, "ip", "netns", "pids", ns)
	if err != nil {
		return
	}
	for _, pid := range splitFields(out) {
		var p int
		if _, err := fmtSscan(pid, &p); err == nil && p > 0 {
			syscall.Kill(p, syscall.SIGKILL)
		}
	}
}

// Apply adds the Istio objects of a file to a running mesh, as kubectl apply does: each
// object replaces the one of the same kind, namespace and name. The objects are checked
// first; a file with an invalid object changes nothing.
func Apply(s *State, path, namespace string) ([]string, error) {
	objs, err := readObjects(path, namespace)
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.Dir, "applied")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	for _, d := range objs {
		dst := filepath.Join(dir, objectFile(d.Config))
		tmp := dst + ".tmp"
		if err := os.WriteFile(tmp, d.Raw, 0o644); err != nil {
			return out, err
		}
		if err := os.Rename(tmp, dst); err != nil {
			return out, err
		}
		out = append(out, objectName(d.Config))
	}
	return out, nil
}

// Delete removes the objects of a file that were applied to a running mesh. Objects
// the mesh was started with stay: they change with the files given to weft up.
func Delete(s *State, path, namespace string) ([]string, error) {
	objs, err := readObjects(path, namespace)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range objs {
		err := os.Remove(filepath.Join(s.Dir, "applied", objectFile(d.Config)))
		if errors.Is(err, fs.ErrNotExist) {
			return out, fmt.Errorf("%s was not applied with weft apply", objectName(d.Config))
		}
		if err != nil {
			return out, err
		}
		out = append(out, objectName(d.Config))
	}
	return out, nil
}

// readObjects parses and validates a file of Istio objects.
func readObjects(path, namespace string) ([]file.Document, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []file.Document
	for _, d := range file.ParseFile(path, data, namespace) {
		switch {
		case d.Err != nil:
			return nil, d.Err
		case d.Other != nil:
			return nil, fmt.Errorf("%s: %s %s: weft apply takes Istio config; workloads and Services come from the files given to weft up", d.Other.Source, d.Other.Kind, d.Other.Name)
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no Istio objects", path)
	}
	return out, nil
}

func objectFile(c *config.Config) string {
	return strings.ToLower(string(c.Kind)) + "." + c.Namespace + "." + c.Name + ".yaml"
}

func objectName(c *config.Config) string {
	return strings.ToLower(string(c.Kind)) + "/" + c.Name + " (" + c.Namespace + ")"
}
