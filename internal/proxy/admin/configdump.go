package admin

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// dumpSource is one of Envoy's config trackers: the builder of one *ConfigDump
// message, which keeps only the resources whose name match accepts.
type dumpSource func(match func(string) bool) (proto.Message, error)

// dumpSources lists the trackers in the order Envoy dumps them (its tracker names
// sorted: bootstrap, clusters, endpoint, listeners, routes, scopedroutes, secrets).
// Endpoints are only dumped with ?include_eds and when there are clusters.
func (s *Server) dumpSources(includeEDS bool) []dumpSource {
	srcs := []dumpSource{s.bootstrapDump, s.clustersDump}
	if includeEDS && len(s.clusters()) > 0 {
		srcs = append(srcs, s.endpointsDump)
	}
	return append(srcs, s.listenersDump, s.routesDump, scopedRoutesDump, s.secretsDump)
}

// handleConfigDump serves /config_dump: an envoy.admin.v3.ConfigDump with one entry
// per tracker, or with ?resource= the elements of that repeated field of whichever
// tracker has it. ?mask= trims with a FieldMask (applied to each tracker's message,
// or with resource to each element, reaching into its Any), ?name_regex= keeps the
// resources whose name fully matches. Sensitive fields (private keys and the like)
// are redacted.
func (s *Server) handleConfigDump(w http.ResponseWriter, r *http.Request) {
	q := r.Form
	match, err := nameMatcher(q.Get("name_regex"))
	if err != nil {
		writeText(w, http.StatusBadRequest, fmt.Sprintf("INVALID_ARGUMENT: Error while parsing name_regex from %s: %v", q.Get("name_regex"), err))
		return
	}
	var msgs []proto.Message
	for _, src := range s.dumpSources(q.Has("include_eds")) {
		m, err := src(match)
		if err != nil {
			writeText(w, http.StatusInternalServerError, fmt.Sprintf("config dump: %v\n", err))
			return
		}
		redact(m.ProtoReflect(), false)
		msgs = append(msgs, m)
	}
	// Empty values are what the home page's form sends for fields left blank.
	resource, mask := q.Get("resource"), q.Get("mask")
	dump := &adminv3.ConfigDump{}
	var code int
	var msg string
	if resource != "" {
		code, msg = addResource(dump, msgs, resource, mask != "", parseMask(mask))
	} else {
		code, msg = addAll(dump, msgs, mask != "", mask)
	}
	if code != 0 {
		writeText(w, code, msg)
		return
	}
	s.writeJSON(w, dump, setFields)
}

// nameMatcher compiles name_regex, which must match a whole name (RE2, as Envoy's
// google_re2 matcher). An empty one matches everything.
func nameMatcher(re string) (func(string) bool, error) {
	if re == "" {
		return func(string) bool { return true }, nil
	}
	if _, err := regexp.Compile(re); err != nil {
		return nil, err
	}
	c, err := regexp.Compile("^(?:" + re + ")$")
	if err != nil {
		return nil, err
	}
	return c.MatchString, nil
}

// addAll packs every tracker's message, each trimmed by the mask. A tracker the mask
// does not fit is left out; if none fits, it is a 400.
func addAll(dump *adminv3.ConfigDump, msgs []proto.Message, hasMask bool, mask string) (int, string) {
	paths := parseMask(mask)
	for _, m := range msgs {
		if hasMask && !trimChecked(m.ProtoReflect(), paths) {
			continue
		}
		a, err := anypb.New(m)
		if err != nil {
			return http.StatusInternalServerError, fmt.Sprintf("config dump: %v\n", err)
		}
		dump.Configs = append(dump.Configs, a)
	}
	if len(dump.Configs) == 0 && hasMask {
		return http.StatusBadRequest, fmt.Sprintf("FieldMask %s could not be successfully applied to any configs.", mask)
	}
	return 0, ""
}

// addResource packs the elements of the first tracker field called resource.
func addResource(dump *adminv3.ConfigDump, msgs []proto.Message, resource string, hasMask bool, paths []string) (int, string) {
	for _, m := range msgs {
		rm := m.ProtoReflect()
		fd := rm.Descriptor().Fields().ByName(protoreflect.Name(resource))
		if fd == nil {
			continue
		}
		if !fd.IsList() || fd.Message() == nil {
			return http.StatusBadRequest, fmt.Sprintf("%s is not a repeated field. Use ?mask=%s to get only this field", fd.Name(), fd.Name())
		}
		list := rm.Get(fd).List()
		for i := 0; i < list.Len(); i++ {
			elem := list.Get(i).Message()
			if hasMask && !trimResource(elem, paths) {
				return http.StatusBadRequest, fmt.Sprintf("FieldMask %s could not be successfully used.", maskDebugString(paths))
			}
			a, err := anypb.New(elem.Interface())
			if err != nil {
				return http.StatusInternalServerError, fmt.Sprintf("config dump: %v\n", err)
			}
			dump.Configs = append(dump.Configs, a)
		}
		return 0, ""
	}
	return http.StatusNotFound, fmt.Sprintf("%s not found in config dump", resource)
}

// maskDebugString renders a FieldMask as protobuf's DebugString does, for the error
// Envoy sends.
func maskDebugString(paths []string) string {
	var b strings.Builder
	for _, p := range paths {
		fmt.Fprintf(&b, "paths: %q\n", p)
	}
	return b.String()
}
