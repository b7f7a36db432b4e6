package accesslog

import (
	"errors"
	"fmt"
	"sync"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"

	"github.com/weftmesh/weft/internal/proxy/streaminfo"
)

// Logger writes one access log entry per finished stream or connection. Log must be
// safe for concurrent use and must not keep info after it returns.
type Logger interface {
	Log(info *streaminfo.Info)
}

// appender formats an entry; *format.Formatter and *format.JSONFormatter are appenders.
type appender interface {
	Append(dst []byte, info *streaminfo.Info) []byte
}

// maxPooledBuffer is the largest formatting buffer returned to the pool.
const maxPooledBuffer = 64 << 10

// New builds one Logger for a list of access log configs (an HTTP connection
// manager's or a TCP proxy's access_log field). Every entry goes to each logger whose
// filter passes, in config order. An empty list gives a Logger that does nothing. The
// configs should have passed config.Validate and config.Check; New still rejects
// anything it does not support, naming its type URL.
func New(cfgs []*accesslogv3.AccessLog, m *Manager) (Logger, error) {
	if len(cfgs) == 0 {
		return nop{}, nil
	}
	if m == nil {
		return nil, errors.New("access log: nil manager")
	}
	l := make(loggers, 0, len(cfgs))
	for i, cfg := range cfgs {
		e, err := m.build(cfg)
		if err != nil {
			return nil, fmt.Errorf("access_log[%d] %q: %w", i, cfg.GetName(), err)
		}
		l = append(l, e)
	}
	return l, nil
}

// nop is the Logger for an empty list.
type nop struct{}

func (nop) Log(*streaminfo.Info) {}

// loggers is the Logger New returns.
type loggers []entry

// Log writes info to every logger whose filter passes.
func (l loggers) Log(info *streaminfo.Info) {
	for i := range l {
		l[i].log(info)
	}
}

// entry is one configured access logger.
type entry struct {
	filter filter // nil passes everything
	format appender
	out    *writer
	bufs   *sync.Pool // of *[]byte, owned by the Manager
}

func (e *entry) log(info *streaminfo.Info) {
	if e.filter != nil && !e.filter.match(info) {
		return
	}
	bp := e.bufs.Get().(*[]byte)
	b := e.format.Append((*bp)[:0], info)
	e.out.write(b)
	if cap(b) <= maxPooledBuffer {
		*bp = b[:0]
		e.bufs.Put(bp)
	}
}
