package route

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// levelsConfig sets x-level at every level with the given append action, and records
// each level in x-trace.
func levelsConfig(action string, mostSpecificWins bool) string {
	add := func(level string) string {
		return `[{header: {key: x-level, value: ` + level + `}, append_action: ` + action + `},
                 {header: {key: x-trace, value: ` + level + `}}]`
	}
	msw := "false"
	if mostSpecificWins {
		msw = "true"
	}
	return `
most_specific_header_mutations_wins: ` + msw + `
request_headers_to_add: ` + add("global") + `
response_headers_to_add: ` + add("global") + `
virtual_hosts:
- name: vh
  domains: ["*"]
  request_headers_to_add: ` + add("vhost") + `
  response_headers_to_add: ` + add("vhost") + `
  routes:
  - match: {prefix: /}
    request_headers_to_add: ` + add("route") + `
    response_headers_to_add: ` + add("route") + `
    route:
      weighted_clusters:
        clusters:
        - name: c
          weight: 1
          request_headers_to_add: ` + add("cluster") + `
          response_headers_to_add: ` + add("cluster") + `
`
}

func TestHeaderLevelOrder(t *testing.T) {
	tests := []struct {
		action     string
		msw        bool
		original   bool
		wantLevel  []string
		wantTraces []string
	}{
		{"APPEND_IF_EXISTS_OR_ADD", false, false, []string{"cluster", "route", "vhost", "global"}, []string{"cluster", "route", "vhost", "global"}},
		{"OVERWRITE_IF_EXISTS_OR_ADD", false, false, []string{"global"}, []string{"cluster", "route", "vhost", "global"}},
		{"OVERWRITE_IF_EXISTS_OR_ADD", true, false, []string{"route"}, []string{"cluster", "global", "vhost", "route"}},
		{"ADD_IF_ABSENT", false, false, []string{"cluster"}, []string{"cluster", "route", "vhost", "global"}},
		{"ADD_IF_ABSENT", true, false, []string{"cluster"}, []string{"cluster", "global", "vhost", "route"}},
		{"ADD_IF_ABSENT", false, true, []string{"original"}, []string{"cluster", "route", "vhost", "global"}},
		{"OVERWRITE_IF_EXISTS", false, false, nil, []string{"cluster", "route", "vhost", "global"}},
		{"OVERWRITE_IF_EXISTS", false, true, []string{"global"}, []string{"cluster", "route", "vhost", "global"}},
	}
	for _, tt := range tests {
		name := tt.action
		if tt.msw {
			name += "/most_specific_wins"
		}
		if tt.original {
			name += "/present"
		}
		t.Run(name, func(t *testing.T) {
			tbl := mustTable(t, levelsConfig(tt.action, tt.msw))
			req := request("h", "/")
			resp := header.Of(":status", "200")
			if tt.original {
				req.Add("x-level", "original")
				resp.Add("x-level", "original")
			}
			e := tbl.Match(req, nil, 0)
			e.FinalizeRequest(req, nil)
			e.FinalizeResponse(&resp, nil)
			for _, h := range []*header.Map{req, &resp} {
				got := [][]string{values(h, "x-level"), values(h, "x-trace")}
				if diff := cmp.Diff([][]string{tt.wantLevel, tt.wantTraces}, got); diff != "" {
					t.Errorf("[x-level x-trace] (-want +got):\n%s", diff)
				}
			}
		})
	}
}

func values(h *header.Map, name string) []string {
	var out []string
	for _, f := range h.Fields() {
		if f.Name == name {
			out = append(out, f.Value)
		}
	}
	return out
}

func TestHeaderRemoveAndAddSemantics(t *testing.T) {
	tbl := mustTable(t, `
virtual_hosts:
- name: vh
  domains: ["*"]
  routes:
  - match: {prefix: /}
    route: {cluster: c}
    request_headers_to_remove: [x-remove, X-Replace]
    request_headers_to_add:
    - {header: {key: X-Replace, value: new}}
    - {header: {key: x-empty, value: ""}}
    - {header: {key: x-kept-empty, value: ""}, keep_empty_value: true}
    - {header: {key: x-old-append, value: two}, append: true}
    - {header: {key: x-old-overwrite, value: two}, append: false}
    - {header: {key: x-client, value: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"}}
    - {header: {key: x-percent, value: "100%%"}}
    - {header: {key: x-absent, value: "%REQ(x-none)%"}}
    - {header: {key: x-copied, value: "%REQ(x-replace)%"}}
    - {header: {key: x-twice, value: a}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
    - {header: {key: x-twice, value: b}, append_action: OVERWRITE_IF_EXISTS_OR_ADD}
`)
	req := request("h", "/", "x-remove", "1", "x-replace", "old", "x-old-append", "one", "x-old-overwrite", "one")
	info := &streaminfo.Info{RequestHeaders: req}
	info.Downstream.RemoteAddress = netip.MustParseAddrPort("10.1.2.3:5555")
	tbl.Match(req, info, 0).FinalizeRequest(req, info)
	got := map[string][]string{}
	for _, n := range []string{"x-remove", "x-replace", "x-empty", "x-kept-empty", "x-old-append", "x-old-overwrite", "x-client", "x-percent", "x-twice", "x-absent", "x-copied"} {
		got[n] = values(req, n)
	}
	want := map[string][]string{
		"x-remove": nil, "x-replace": {"new"}, "x-empty": nil, "x-kept-empty": {""},
		"x-old-append": {"one", "two"}, "x-old-overwrite": {"two"}, "x-client": {"10.1.2.3"},
		"x-percent": {"100%"}, "x-twice": {"b"}, "x-absent": nil, "x-copied": nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestHeaderConfigErrors(t *testing.T) {
	tests := []struct{ name, route, want string }{
		{"add pseudo", `request_headers_to_add: [{header: {key: ":path", value: x}}]`,
			`virtual_hosts[0].routes[0].request_headers_to_add[0].header.key: header ":path" may not be modified`},
		{"add host", `response_headers_to_add: [{header: {key: Host, value: x}}]`,
			`virtual_hosts[0].routes[0].response_headers_to_add[0].header.key`},
		{"remove pseudo", `request_headers_to_remove: [":authority"]`,
			`virtual_hosts[0].routes[0].request_headers_to_remove[0]: header ":authority" may not be removed`},
		{"append and action", `request_headers_to_add: [{header: {key: x, value: "v"}, append: true, append_action: ADD_IF_ABSENT}]`,
			`request_headers_to_add[0].append: append and append_action are mutually exclusive`},
		{"bad format", `request_headers_to_add: [{header: {key: x, value: "%NOT_AN_OPERATOR%"}}]`,
			`request_headers_to_add[0].header.value: `},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := `virtual_hosts: [{name: vh, domains: ["*"], routes: [{match: {prefix: /}, route: {cluster: c}, ` + tt.route + `}]}]`
			_, err := New(parseConfig(t, cfg), Options{})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
