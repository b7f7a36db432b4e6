package admin

import (
	"bytes"
	"fmt"
	"net/http"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
)

// handleListeners serves /listeners: "name::address" per listener (the address the
// socket is bound to, so a configured port 0 shows the real port), or
// envoy.admin.v3.Listeners with ?format=json.
func (s *Server) handleListeners(w http.ResponseWriter, r *http.Request) {
	if r.Form.Get("format") == "json" {
		out := &adminv3.Listeners{}
		for _, l := range s.listeners() {
			out.ListenerStatuses = append(out.ListenerStatuses, &adminv3.ListenerStatus{
				Name:         l.Name(),
				LocalAddress: socketAddress(l.BoundAddress()),
			})
		}
		s.writeJSON(w, out, setFields)
		return
	}
	var b bytes.Buffer
	for _, l := range s.listeners() {
		fmt.Fprintf(&b, "%s::%s\n", l.Name(), l.BoundAddress())
	}
	w.Write(b.Bytes())
}

// handleDrainListeners serves /drain_listeners. inboundonly drains only the inbound
// listeners; graceful is ignored once a graceful drain has started, as in Envoy.
// Weft's drain always lets connections finish (HTTP/1 closes after the response,
// HTTP/2 sends GOAWAY) and never exits the process by itself, so skip_exit is
// accepted and has nothing to skip.
func (s *Server) handleDrainListeners(w http.ResponseWriter, r *http.Request) {
	inbound := r.Form.Has("inboundonly")
	if r.Form.Has("graceful") && s.draining.Swap(true) {
		fmt.Fprint(w, "OK\n")
		return
	}
	s.d.Drain(inbound)
	fmt.Fprint(w, "OK\n")
}
