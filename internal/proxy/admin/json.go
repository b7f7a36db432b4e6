package admin

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonMode says which fields a JSON body prints, following the flags Envoy passes to
// its proto-to-JSON printer.
type jsonMode int

const (
	// setFields prints only fields that are set (Envoy's default).
	setFields jsonMode = iota
	// allPrimitives also prints scalar fields at their default value and empty lists
	// and maps, but not unset messages (Envoy's always_print_primitive_fields).
	allPrimitives
)

// marshalJSON prints m the way Envoy's admin prints protos: proto field names, Any
// with its "@type", one-space indentation and a final newline. protojson's own
// multi-line output deliberately varies its spacing between builds, so the compact
// form is re-indented with encoding/json, which makes the output stable.
func marshalJSON(m proto.Message, mode jsonMode) ([]byte, error) {
	opts := protojson.MarshalOptions{UseProtoNames: true, EmitDefaultValues: mode == allPrimitives}
	compact, err := opts.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("marshal %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	var out bytes.Buffer
	if err := json.Indent(&out, compact, "", " "); err != nil {
		return nil, fmt.Errorf("indent %s: %w", m.ProtoReflect().Descriptor().FullName(), err)
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

// writeJSON answers 200 with m as JSON, or 500 with the error.
func (s *Server) writeJSON(w http.ResponseWriter, m proto.Message, mode jsonMode) {
	b, err := marshalJSON(m, mode)
	if err != nil {
		s.log.Error("admin: json", "error", err)
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "%v\n", err)
		return
	}
	w.Header().Set("Content-Type", contentTypeJSON)
	w.Write(b)
}

// writeText answers code with a text/plain body.
func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", contentTypeText)
	w.WriteHeader(code)
	fmt.Fprint(w, body)
}
