package accesslog

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/weftmesh/weft/internal/proxy/config"
)

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{"no typed_config", `{name: envoy.access_loggers.file}`, `access_log[0] "envoy.access_loggers.file": typed_config is required`},
		{"unsupported logger", `{name: grpc, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig, common_config: {log_name: x, transport_api_version: V3, grpc_service: {envoy_grpc: {cluster_name: c}}}}}`,
			"unsupported access logger type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig"},
		{"unsupported filter", `{name: f, filter: {runtime_filter: {runtime_key: k}}, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}}`,
			"filter: unsupported access log filter type.googleapis.com/envoy.config.accesslog.v3.RuntimeFilter"},
		{"invalid config", `{name: f, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog}}`,
			"FileAccessLog.Path"},
		{"unknown operator", `{name: s, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, log_format: {text_format: "%NOPE%"}}}`,
			"unsupported command operator %NOPE%"},
		{"unsupported data source", `{name: s, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, log_format: {text_format_source: {environment_variable: X}}}}`,
			"unsupported data source"},
		{"formatter extensions", `{name: s, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, log_format: {text_format: x, formatters: [{name: f, typed_config: {"@type": type.googleapis.com/google.protobuf.Empty}}]}}}`,
			"formatters"},
		{"unopenable file", fileLogYAML(filepath.Join(dir, "missing", "access.log"), ""), "open access log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewManager(WithStdout(io.Discard))
			defer m.Close()
			_, err := New(parseLogs(t, tt.yaml), m)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New error = %v, want it to contain %q", err, tt.want)
			}
			if n := len(m.snapshot()); n != 0 {
				t.Errorf("a failed config opened %d outputs", n)
			}
		})
	}
}

func TestNewAfterClose(t *testing.T) {
	m := NewManager()
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := New(parseLogs(t, fileLogYAML(filepath.Join(t.TempDir(), "a.log"), "")), m)
	if err == nil || !strings.Contains(err.Error(), "closed") {
		t.Errorf("New after Close error = %v, want one saying the manager is closed", err)
	}
}

func TestFileFormats(t *testing.T) {
	dir := t.TempDir()
	fmtFile := filepath.Join(dir, "format.txt")
	if err := os.WriteFile(fmtFile, []byte("from file %RESPONSE_CODE%\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		format string // the FileAccessLog fields after path
		want   string
	}{
		{"none", ``, defaultLine},
		{"deprecated empty format", `format: ""`, defaultLine},
		{"deprecated format", `format: "%PROTOCOL%\n"`, "HTTP/2\n"},
		{"deprecated json_format", `json_format: {code: "%RESPONSE_CODE%"}`, `{"code":204}` + "\n"},
		{"deprecated typed_json_format", `typed_json_format: {code: "%RESPONSE_CODE%"}`, `{"code":204}` + "\n"},
		{"log_format filename", `log_format: {text_format_source: {filename: "` + fmtFile + `"}}`, "from file 204\n"},
		{"log_format inline_bytes", `log_format: {text_format_source: {inline_bytes: "JVBST1RPQ09MJQo="}}`, "HTTP/2\n"},
		{"json omit_empty_values", `log_format: {json_format: {a: "%REQ(missing)%", b: "%PROTOCOL%"}, omit_empty_values: true}`,
			`{"b":"HTTP/2"}` + "\n"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.Repeat("x", i+1)+".log")
			y := `{name: f, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog, path: "` + path + `"`
			if tt.format != "" {
				y += ", " + tt.format
			}
			y += "}}"
			m := NewManager()
			l, err := New(parseLogs(t, y), m)
			if err != nil {
				t.Fatal(err)
			}
			l.Log(testInfo())
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if got := readFile(t, path); got != tt.want {
				t.Errorf("file = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestConfigSupport checks what init registered: supported config passes
// config.Check, and fields the package does not handle are rejected by name.
func TestConfigSupport(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		want string // "" when Check must pass, else a substring of its error
	}{
		{"file with filters", `
name: envoy.access_loggers.file
filter:
  and_filter:
    filters:
    - {status_code_filter: {comparison: {op: GE, value: {default_value: 500, runtime_key: k}}}}
    - {or_filter: {filters: [{not_health_check_filter: {}}, {response_flag_filter: {flags: [UF]}}]}}
    - {duration_filter: {comparison: {op: GE, value: {default_value: 1, runtime_key: k}}}}
    - {header_filter: {header: {name: x, string_match: {safe_regex: {google_re2: {}, regex: a}}}}}
typed_config:
  "@type": type.googleapis.com/envoy.extensions.access_loggers.file.v3.FileAccessLog
  path: /dev/stdout
  log_format: {json_format: {a: b}, omit_empty_values: true, json_format_options: {sort_properties: true}}`, ""},
		{"stdout text source", `{name: s, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, log_format: {text_format_source: {inline_string: x}}}}`, ""},
		{"stderr", `{name: s, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog}}`, ""},
		{"runtime filter", `{name: s, filter: {runtime_filter: {runtime_key: k}}, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog}}`,
			"filter.runtime_filter"},
		{"content_type", `{name: s, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog, log_format: {text_format: x, content_type: text/html}}}`,
			"log_format.content_type"},
		{"grpc logger", `{name: grpc, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig, common_config: {log_name: x, transport_api_version: V3, grpc_service: {envoy_grpc: {cluster_name: c}}}}}`,
			"envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig"},
		{"max_program_size", `{name: s, filter: {header_filter: {header: {name: x, safe_regex_match: {google_re2: {max_program_size: 10}, regex: a}}}}, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StderrAccessLog}}`,
			"max_program_size"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := config.Check(parseLogs(t, tt.yaml)[0])
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Check: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Check error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
