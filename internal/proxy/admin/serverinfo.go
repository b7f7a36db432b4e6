package admin

import (
	"fmt"
	"log/slog"
	"net/http"
	goruntime "runtime"
	"time"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
)

// hotRestartVersion is what Envoy reports when hot restart is disabled; weft does not
// hot restart.
const hotRestartVersion = "disabled"

// handleServerInfo serves /server_info: envoy.admin.v3.ServerInfo with the version
// "weft/<version>", the state, uptimes in whole seconds (weft has one epoch, so both
// are the same), the command-line options weft knows and the bootstrap's node.
func (s *Server) handleServerInfo(w http.ResponseWriter, _ *http.Request) {
	up := durationpb.New(s.d.Clock().Sub(s.d.Start).Truncate(time.Second))
	info := &adminv3.ServerInfo{
		Version:            "weft/" + s.d.Version,
		State:              s.state(),
		HotRestartVersion:  hotRestartVersion,
		UptimeCurrentEpoch: up,
		UptimeAllEpochs:    up,
		CommandLineOptions: s.commandLine(),
		Node:               s.node(),
	}
	s.writeJSON(w, info, allPrimitives)
}

func (s *Server) node() *corev3.Node {
	if n := s.d.Bootstrap.GetNode(); n != nil {
		return proto.CloneOf(n)
	}
	return &corev3.Node{}
}

// commandLine fills the options Envoy would have been started with.
func (s *Server) commandLine() *adminv3.CommandLineOptions {
	n := s.d.Bootstrap.GetNode()
	o := &adminv3.CommandLineOptions{
		Concurrency:       uint32(max(s.d.Concurrency, 0)),
		ConfigPath:        s.d.ConfigPath,
		LogLevel:          levelName(s.d.LogLevel.Level()),
		ServiceCluster:    n.GetCluster(),
		ServiceNode:       n.GetId(),
		ServiceZone:       n.GetLocality().GetZone(),
		Mode:              adminv3.CommandLineOptions_Serve,
		DisableHotRestart: true,
	}
	if s.d.DrainTime > 0 {
		o.DrainTime = durationpb.New(s.d.DrainTime)
	}
	return o
}

// handleReady serves /ready: the state name, with 200 when LIVE and 503 otherwise.
func (s *Server) handleReady(w http.ResponseWriter, _ *http.Request) {
	st := s.state()
	code := http.StatusOK
	if st != adminv3.ServerInfo_LIVE {
		code = http.StatusServiceUnavailable
	}
	writeText(w, code, st.String()+"\n")
}

func (s *Server) handleHotRestartVersion(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprint(w, hotRestartVersion)
}

// handleMemory serves /memory: envoy.admin.v3.Memory, whose tcmalloc figures are
// mapped onto the Go runtime's (runtime.MemStats):
//
//	allocated            HeapAlloc       bytes of live and not yet swept heap objects
//	heap_size            HeapSys         heap bytes obtained from the OS
//	pageheap_unmapped    HeapReleased    heap bytes returned to the OS
//	pageheap_free        HeapIdle - HeapReleased   idle heap bytes still mapped
//	total_thread_cache   MCacheInuse     the per-P allocation caches
//	total_physical_bytes Sys - HeapReleased        memory mapped and not released
func (s *Server) handleMemory(w http.ResponseWriter, _ *http.Request) {
	var m goruntime.MemStats
	goruntime.ReadMemStats(&m)
	s.writeJSON(w, &adminv3.Memory{
		Allocated:          m.HeapAlloc,
		HeapSize:           m.HeapSys,
		PageheapUnmapped:   m.HeapReleased,
		PageheapFree:       m.HeapIdle - m.HeapReleased,
		TotalThreadCache:   m.MCacheInuse,
		TotalPhysicalBytes: m.Sys - m.HeapReleased,
	}, allPrimitives)
}

// handleInitDump serves /init_dump. Weft builds every static resource before it
// serves and has no init targets left waiting, so the dump is always empty (with or
// without ?mask=).
func (s *Server) handleInitDump(w http.ResponseWriter, _ *http.Request) {
	s.writeJSON(w, &adminv3.UnreadyTargetsDumps{}, setFields)
}

// handleCerts serves /certs: the certificates of the TLS contexts in use.
func (s *Server) handleCerts(w http.ResponseWriter, _ *http.Request) {
	certs := &adminv3.Certificates{}
	if s.d.Secrets != nil {
		certs = s.d.Secrets.Certs()
	}
	s.writeJSON(w, certs, allPrimitives)
}

// levelNames are Envoy's (spdlog's) log levels, most verbose first.
var levelNames = [...]string{"trace", "debug", "info", "warning", "error", "critical", "off"}

// levelValues are the slog levels weft maps them to: trace is below debug, critical
// above error, off above everything.
var levelValues = [...]slog.Level{slog.LevelDebug - 4, slog.LevelDebug, slog.LevelInfo, slog.LevelWarn,
	slog.LevelError, slog.LevelError + 4, slog.LevelError + 1000}

// levelName names a slog level by the most verbose Envoy level it lets through.
func levelName(l slog.Level) string {
	for i, v := range levelValues {
		if l <= v {
			return levelNames[i]
		}
	}
	return "off"
}

func parseLevel(name string) (slog.Level, bool) {
	for i, n := range levelNames {
		if n == name {
			return levelValues[i], true
		}
	}
	return 0, false
}
