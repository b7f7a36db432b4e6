package admin

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
)

// endpoint is one admin path with its help text, as Envoy's admin lists it.
type endpoint struct {
	path    string
	help    string
	mutates bool // POST only; 405 otherwise
	params  []param
	handle  http.HandlerFunc
}

// param documents one query parameter of an endpoint for /help and the home page.
type param struct {
	kind    paramKind
	name    string
	help    string
	choices []string // for enumParam
}

type paramKind int

const (
	boolParam paramKind = iota
	stringParam
	enumParam
)

// logLevelChoices is the level enum of /logging, with the empty first choice that
// Envoy adds so that the home page's form can leave the level unset.
var logLevelChoices = append([]string{""}, levelNames[:]...)

// table builds the endpoint list, sorted by path as /help prints it. The help texts
// are Envoy's.
func (s *Server) table() []*endpoint {
	eps := []*endpoint{
		{path: "/", help: "Admin home page", handle: s.handleHome},
		{path: "/certs", help: "print certs on machine", handle: s.handleCerts},
		{path: "/clusters", help: "upstream cluster status", handle: s.handleClusters},
		{path: "/config_dump", help: "dump current Envoy configs (experimental)", handle: s.handleConfigDump, params: configDumpParams},
		{path: "/contention", help: "dump current Envoy mutex contention stats (if enabled)", handle: s.handleContention},
		{path: "/cpuprofiler", help: "enable/disable the CPU profiler", mutates: true, handle: s.handleCPUProfiler,
			params: []param{{enumParam, "enable", "enables the CPU profiler", []string{"y", "n"}}}},
		{path: "/heapprofiler", help: "enable/disable the heap profiler", mutates: true, handle: s.handleHeapProfiler,
			params: []param{{enumParam, "enable", "enable/disable the heap profiler", []string{"y", "n"}}}},
		{path: "/heap_dump", help: "dump current Envoy heap (if supported)", handle: s.handleHeapDump},
		{path: "/healthcheck/fail", help: "cause the server to fail health checks", mutates: true, handle: s.handleHealthcheck(true)},
		{path: "/healthcheck/ok", help: "cause the server to pass health checks", mutates: true, handle: s.handleHealthcheck(false)},
		{path: "/help", help: "print out list of admin commands", handle: s.handleHelp},
		{path: "/hot_restart_version", help: "print the hot restart compatibility version", handle: s.handleHotRestartVersion},
		{path: "/init_dump", help: "dump current Envoy init manager information (experimental)", handle: s.handleInitDump,
			params: []param{{stringParam, "mask", "The desired component to dump unready targets. The mask is parsed as a ProtobufWkt::FieldMask. For example, get the unready targets of all listeners with /init_dump?mask=listener`", nil}}},
		{path: "/logging", help: "query/change logging levels", mutates: true, handle: s.handleLogging, params: []param{
			{stringParam, "paths", "Change multiple logging levels by setting to <logger_name1>:<desired_level1>,<logger_name2>:<desired_level2>.", nil},
			{enumParam, "level", "desired logging level, this will change all loggers's level", logLevelChoices}}},
		{path: "/memory", help: "print current allocation/heap usage", handle: s.handleMemory},
		{path: "/quitquitquit", help: "exit the server", mutates: true, handle: s.handleQuit},
		{path: "/reset_counters", help: "reset all counters to zero", mutates: true, handle: s.handleResetCounters},
		{path: "/drain_listeners", help: "drain listeners", mutates: true, handle: s.handleDrainListeners, params: drainParams},
		{path: "/server_info", help: "print server version/status information", handle: s.handleServerInfo},
		{path: "/ready", help: "print server state, return 200 if LIVE, otherwise return 503", handle: s.handleReady},
		{path: "/stats", help: "print server stats", handle: s.handleStats, params: statsParams},
		{path: "/stats/prometheus", help: "print server stats in prometheus format", handle: s.handlePrometheus, params: prometheusParams},
		{path: "/stats/recentlookups", help: "Show recent stat-name lookups", handle: s.handleRecentLookups},
		{path: "/stats/recentlookups/clear", help: "clear list of stat-name lookups and counter", mutates: true, handle: s.handleLookupsClear},
		{path: "/stats/recentlookups/disable", help: "disable recording of reset stat-name lookup names", mutates: true, handle: s.handleLookupsEnable(false)},
		{path: "/stats/recentlookups/enable", help: "enable recording of reset stat-name lookup names", mutates: true, handle: s.handleLookupsEnable(true)},
		{path: "/listeners", help: "print listener info", handle: s.handleListeners,
			params: []param{{enumParam, "format", "File format to use", []string{"text", "json"}}}},
		{path: "/runtime", help: "print runtime values", handle: s.handleRuntime},
		{path: "/runtime_modify", help: runtimeModifyHelp, mutates: true, handle: s.handleRuntimeModify},
		{path: "/reopen_logs", help: "reopen access logs", mutates: true, handle: s.handleReopenLogs},
	}
	sort.Slice(eps, func(i, j int) bool { return eps[i].path < eps[j].path })
	return eps
}

const runtimeModifyHelp = "Adds or modifies runtime values as passed in query parameters. To delete a " +
	"previously added key, use an empty string as the value. Note that deletion only applies to " +
	"overrides added via this endpoint; values loaded from disk can be modified via override but " +
	"not deleted. E.g. ?key1=value1&key2=value2..."

var configDumpParams = []param{
	{stringParam, "resource", "The resource to dump", nil},
	{stringParam, "mask", "The mask to apply. When both resource and mask are specified, the mask is " +
		"applied to every element in the desired repeated field so that only a subset of fields are " +
		"returned. The mask is parsed as a ProtobufWkt::FieldMask", nil},
	{stringParam, "name_regex", "Dump only the currently loaded configurations whose names match the " +
		"specified regex. Can be used with both resource and mask query parameters.", nil},
	{boolParam, "include_eds", "Dump currently loaded configuration including EDS. See the response " +
		"definition for more information", nil},
}

var drainParams = []param{
	{boolParam, "graceful", "When draining listeners, enter a graceful drain period prior to closing " +
		"listeners. This behaviour and duration is configurable via server options or CLI", nil},
	{boolParam, "skip_exit", "When draining listeners, do not exit after the drain period. " +
		"This must be used with graceful", nil},
	{boolParam, "inboundonly", "Drains all inbound listeners. traffic_direction field in " +
		"envoy_v3_api_msg_config.listener.v3.Listener is used to determine whether a listener is " +
		"inbound or outbound.", nil},
}

var usedOnlyParam = param{boolParam, "usedonly", "Only include stats that have been written by system since restart", nil}
var filterParam = param{stringParam, "filter", "Regular expression (Google re2) for filtering stats", nil}

var statsParams = []param{
	usedOnlyParam,
	filterParam,
	{enumParam, "format", "Format to use", []string{"text", "json", "prometheus"}},
	{enumParam, "type", "Stat types to include.", []string{"All", "Counters", "Histograms", "Gauges", "TextReadouts"}},
	{enumParam, "histogram_buckets", "Histogram bucket display mode", []string{"cumulative", "disjoint", "none"}},
}

var prometheusParams = []param{
	usedOnlyParam,
	{boolParam, "text_readouts", "Render text_readouts as new gaugues with value 0 (increases Prometheus data size)", nil},
	filterParam,
	{enumParam, "histogram_buckets", "Histogram bucket display mode", []string{"cumulative", "summary"}},
}

// helpText is the /help body: "admin commands are:" and one line per endpoint, its
// parameters indented below it, as Envoy prints them.
func (s *Server) helpText() string {
	var b strings.Builder
	b.WriteString("admin commands are:\n")
	for _, e := range s.endpoints {
		method := ""
		if e.mutates {
			method = " (POST)"
		}
		fmt.Fprintf(&b, "  %s%s: %s\n", e.path, method, e.help)
		for _, p := range e.params {
			fmt.Fprintf(&b, "      %s: %s", p.name, p.help)
			if p.kind == enumParam {
				fmt.Fprintf(&b, "; One of (%s)", strings.Join(p.choices, ", "))
			}
			b.WriteString("\n")
		}
	}
	return b.String()
}

func (s *Server) handleHelp(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprint(w, s.helpText())
}
