package admin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/weftmesh/weft/internal/proxy/runtime"
)

// handleRuntime serves /runtime: the layer names and, for every key, each layer's
// value and the final one, as Envoy prints them.
func (s *Server) handleRuntime(w http.ResponseWriter, _ *http.Request) {
	s.writeJSON(w, s.d.Runtime.Dump(), allPrimitives)
}

// handleRuntimeModify serves /runtime_modify: ?key=value (or the same as a form
// body) overrides keys in the admin layer; an empty value removes an override.
// Without an admin layer it answers 503, as Envoy does.
func (s *Server) handleRuntimeModify(w http.ResponseWriter, r *http.Request) {
	if len(r.Form) == 0 {
		writeText(w, http.StatusBadRequest, "usage: /runtime_modify?key1=value1&key2=value2&keyN=valueN\n"+
			"       or send the parameters as form values\n"+
			"use an empty value to remove a previously added override")
		return
	}
	kv := make(map[string]string, len(r.Form))
	for k, v := range r.Form {
		kv[k] = v[0]
	}
	if err := s.d.Runtime.Modify(kv); err != nil {
		msg := err.Error()
		if errors.Is(err, runtime.ErrNoAdminLayer) {
			msg = "No admin layer specified"
		}
		writeText(w, http.StatusServiceUnavailable, msg)
		return
	}
	fmt.Fprint(w, "OK\n")
}
