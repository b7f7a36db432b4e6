package admin

import (
	"log/slog"
	"net/http"
	"testing"
	"time"
)

func TestLogging(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "POST", "/logging")
	expect(t, rec, http.StatusOK, contentTypeText)
	golden(t, "logging.golden", rec.Body.Bytes())

	for _, tc := range []struct {
		target string
		want   slog.Level
	}{
		{"/logging?level=debug", slog.LevelDebug},
		{"/logging?level=&paths=weft:warning", slog.LevelWarn},
		{"/logging?weft=trace", slog.LevelDebug - 4},
		{"/logging?level=critical", slog.LevelError + 4},
		{"/logging?level=info", slog.LevelInfo},
	} {
		rec := f.do(t, "POST", tc.target)
		expect(t, rec, http.StatusOK, contentTypeText)
		if got := f.deps.LogLevel.Level(); got != tc.want {
			t.Errorf("%s: level %v, want %v", tc.target, got, tc.want)
		}
	}
	rec = f.doBody(t, "POST", "/logging", "level=error")
	if rec.Code != http.StatusOK || f.deps.LogLevel.Level() != slog.LevelError {
		t.Errorf("form body: %d, level %v", rec.Code, f.deps.LogLevel.Level())
	}
}

func TestLoggingErrors(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "POST", "/logging?level=loud")
	expect(t, rec, http.StatusBadRequest, contentTypeText)
	golden(t, "logging_error.golden", rec.Body.Bytes())
	for target, first := range map[string]string{
		"/logging?upstream=debug":            "error: unknown logger name\n",
		"/logging?level=debug&weft=debug":    "error: invalid number of parameters\n",
		"/logging?paths=weft:debug,:info":    "error: empty logger name or empty logger level\n",
		"/logging?paths=weft:debug,http:bad": "error: unknown logger level\n",
	} {
		rec := f.do(t, "POST", target)
		expect(t, rec, http.StatusBadRequest, contentTypeText)
		if got := rec.Body.String(); len(got) < len(first) || got[:len(first)] != first {
			t.Errorf("%s: body %q, want it to start with %q", target, got, first)
		}
	}
	if f.deps.LogLevel.Level() != slog.LevelInfo {
		t.Errorf("a failed request changed the level to %v", f.deps.LogLevel.Level())
	}
}

func TestHealthcheck(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "POST", "/healthcheck/fail")
	expect(t, rec, http.StatusOK, contentTypeText)
	if rec.Body.String() != "OK\n" || !f.deps.HealthCheckFailed.Load() {
		t.Errorf("fail: %q, flag %v", rec.Body, f.deps.HealthCheckFailed.Load())
	}
	rec = f.do(t, "POST", "/healthcheck/ok")
	if rec.Body.String() != "OK\n" || f.deps.HealthCheckFailed.Load() {
		t.Errorf("ok: %q, flag %v", rec.Body, f.deps.HealthCheckFailed.Load())
	}
}

func TestDrainListeners(t *testing.T) {
	f := newFixture(t)
	for _, tc := range []struct {
		target  string
		inbound bool
	}{
		{"/drain_listeners", false},
		{"/drain_listeners?inboundonly", true},
		{"/drain_listeners?inboundonly&graceful&skip_exit", true},
	} {
		rec := f.do(t, "POST", tc.target)
		expect(t, rec, http.StatusOK, contentTypeText)
		if rec.Body.String() != "OK\n" {
			t.Errorf("%s: body %q", tc.target, rec.Body)
		}
		if got := <-f.drains; got != tc.inbound {
			t.Errorf("%s: Drain(%v), want Drain(%v)", tc.target, got, tc.inbound)
		}
	}
	// A second graceful drain is ignored, as in Envoy.
	f.do(t, "POST", "/drain_listeners?graceful")
	select {
	case <-f.drains:
		t.Error("a second graceful drain drained again")
	default:
	}
}

func TestQuitQuitQuit(t *testing.T) {
	f := newFixture(t)
	rec := f.do(t, "POST", "/quitquitquit")
	expect(t, rec, http.StatusOK, contentTypeText)
	if rec.Body.String() != "OK\n" {
		t.Errorf("body %q", rec.Body)
	}
	select {
	case <-f.quits:
	case <-time.After(5 * time.Second):
		t.Fatal("Quit was not called")
	}
}

func TestReopenLogs(t *testing.T) {
	rec := newFixture(t).do(t, "POST", "/reopen_logs")
	expect(t, rec, http.StatusOK, contentTypeText)
	if rec.Body.String() != "OK\n" {
		t.Errorf("body %q", rec.Body)
	}
}
