package admin

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// handleHealthcheck serves /healthcheck/fail (fail true) and /healthcheck/ok.
func (s *Server) handleHealthcheck(fail bool) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		s.d.HealthCheckFailed.Store(fail)
		fmt.Fprint(w, "OK\n")
	}
}

// handleQuit serves /quitquitquit: it answers "OK\n", flushes it, then calls Quit on
// its own goroutine so that a Quit that shuts this server down does not wait on the
// handler that called it.
func (s *Server) handleQuit(w http.ResponseWriter, _ *http.Request) {
	fmt.Fprint(w, "OK\n")
	_ = http.NewResponseController(w).Flush() // a recorder or a closed peer: nothing to do
	go s.d.Quit()
}

// handleReopenLogs serves /reopen_logs: every access log file is reopened, for log
// rotation.
func (s *Server) handleReopenLogs(w http.ResponseWriter, _ *http.Request) {
	if s.d.AccessLogs != nil {
		if err := s.d.AccessLogs.Reopen(); err != nil {
			writeText(w, http.StatusInternalServerError, fmt.Sprintf("reopen access logs: %v\n", err))
			return
		}
	}
	fmt.Fprint(w, "OK\n")
}

// processLogger is the name /logging lists for weft's one process-wide log level.
// Envoy has a logger per component; weft logs through one slog handler whose level
// is Deps.LogLevel, so every change applies to the whole process.
const processLogger = "weft"

// handleLogging serves /logging. Without parameters it lists the loggers and their
// levels. ?level=<level> sets every logger; ?<name>=<level> and
// ?paths=<name>:<level>,... set named loggers. Errors are a 400 with Envoy's usage
// text, followed by the list.
func (s *Server) handleLogging(w http.ResponseWriter, r *http.Request) {
	var b bytes.Buffer
	code := http.StatusOK
	if err := s.changeLogLevel(r.Form); err != nil {
		code = http.StatusBadRequest
		fmt.Fprintf(&b, "error: %v\n\n", err)
		b.WriteString("usage: /logging?<name>=<level> (change single level)\n")
		b.WriteString("usage: /logging?paths=name1:level1,name2:level2,... (change multiple levels)\n")
		b.WriteString("usage: /logging?level=<level> (change all levels)\n")
		b.WriteString("levels: ")
		for _, l := range levelNames {
			b.WriteString(l + " ")
		}
		b.WriteString("\n")
	}
	b.WriteString("active loggers:\n")
	fmt.Fprintf(&b, "  %s: %s\n", processLogger, levelName(s.d.LogLevel.Level()))
	b.WriteString("\n")
	writeText(w, code, b.String())
}

// The errors of /logging, in Envoy's words.
var (
	errLogParams      = errors.New("invalid number of parameters")
	errLogLevel       = errors.New("unknown logger level")
	errLoggerName     = errors.New("unknown logger name")
	errLogEmptyInPath = errors.New("empty logger name or empty logger level")
)

// changeLogLevel applies the /logging parameters the way Envoy does: empty level and
// paths are ignored (the home page's form sends them), and exactly one parameter may
// remain.
func (s *Server) changeLogLevel(form url.Values) error {
	q := url.Values{}
	for k, v := range form {
		if (k == "level" || k == "paths") && (len(v) == 0 || v[0] == "") {
			continue
		}
		q[k] = v
	}
	if len(q) == 0 {
		return nil
	}
	if len(q) != 1 {
		return errLogParams
	}
	if q.Has("level") {
		return s.setLevel(processLogger, q.Get("level"))
	}
	if q.Has("paths") {
		return s.setPaths(q.Get("paths"))
	}
	for name, v := range q {
		return s.setLevel(name, v[0])
	}
	return nil
}

// setPaths applies "name:level,name:level"; all pairs are checked before any applies.
func (s *Server) setPaths(paths string) error {
	type change struct{ name, level string }
	var changes []change
	for _, pair := range strings.Split(paths, ",") {
		if strings.TrimSpace(pair) == "" {
			continue
		}
		name, level, _ := strings.Cut(pair, ":")
		if name == "" || level == "" {
			return errLogEmptyInPath
		}
		if _, ok := parseLevel(level); !ok {
			return errLogLevel
		}
		if name != processLogger {
			return errLoggerName
		}
		changes = append(changes, change{name, level})
	}
	for _, c := range changes {
		if err := s.setLevel(c.name, c.level); err != nil {
			return err
		}
	}
	return nil
}

func (s *Server) setLevel(name, level string) error {
	l, ok := parseLevel(level)
	if !ok {
		return errLogLevel
	}
	if name != processLogger {
		return errLoggerName
	}
	s.d.LogLevel.Set(l)
	s.log.Info("change log level", "name", name, "level", level)
	return nil
}
