package accesslog

import (
	"io"
	"path/filepath"
	"testing"
)

func benchmarkLogger(b *testing.B, yaml string, m *Manager) Logger {
	b.Helper()
	l, err := New(parseLogs(b, yaml), m)
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// BenchmarkLogDefaultFormat measures Log with Envoy's default format to a file.
func BenchmarkLogDefaultFormat(b *testing.B) {
	m := NewManager()
	defer m.Close()
	l := benchmarkLogger(b, fileLogYAML(filepath.Join(b.TempDir(), "access.log"), ""), m)
	info := testInfo()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(info)
	}
}

// BenchmarkLogParallel measures contended Log calls on one output.
func BenchmarkLogParallel(b *testing.B) {
	m := NewManager(WithStdout(io.Discard))
	defer m.Close()
	l := benchmarkLogger(b, `{name: s, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}}`, m)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		info := testInfo()
		for pb.Next() {
			l.Log(info)
		}
	})
}

// BenchmarkLogFiltered measures an entry a status code filter rejects.
func BenchmarkLogFiltered(b *testing.B) {
	m := NewManager(WithStdout(io.Discard))
	defer m.Close()
	l := benchmarkLogger(b, `{name: s, filter: {status_code_filter: {comparison: {op: GE, value: {default_value: 500, runtime_key: k}}}}, typed_config: {"@type": type.googleapis.com/envoy.extensions.access_loggers.stream.v3.StdoutAccessLog}}`, m)
	info := testInfo()
	b.ReportAllocs()
	for b.Loop() {
		l.Log(info)
	}
}
