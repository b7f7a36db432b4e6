package accesslog

import (
	"errors"
	"fmt"
	"os"

	accesslogv3 "github.com/envoyproxy/go-control-plane/envoy/config/accesslog/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	filev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/file/v3"
	streamv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/access_loggers/stream/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
	"github.com/weftmesh/weft/internal/proxy/format"
)

// build turns one AccessLog config into an entry. The output is opened last, so a
// config with an error opens nothing.
func (m *Manager) build(cfg *accesslogv3.AccessLog) (entry, error) {
	tc := cfg.GetTypedConfig()
	if tc == nil {
		return entry{}, errors.New("typed_config is required")
	}
	msg, err := tc.UnmarshalNew()
	if err != nil {
		return entry{}, fmt.Errorf("unsupported access logger %s: %w", tc.GetTypeUrl(), err)
	}
	if err := config.Validate(msg); err != nil {
		return entry{}, fmt.Errorf("%s: %w", tc.GetTypeUrl(), err)
	}
	e := entry{bufs: &m.bufs}
	if cfg.GetFilter() != nil {
		if e.filter, err = buildFilter(cfg.GetFilter()); err != nil {
			return entry{}, fmt.Errorf("filter: %w", err)
		}
	}
	switch c := msg.(type) {
	case *filev3.FileAccessLog:
		if e.format, err = fileFormat(c); err == nil {
			e.out, err = m.path(c.GetPath())
		}
	case *streamv3.StdoutAccessLog:
		if e.format, err = logFormat(c.GetLogFormat()); err == nil {
			e.out, err = m.stream(stdoutKey)
		}
	case *streamv3.StderrAccessLog:
		if e.format, err = logFormat(c.GetLogFormat()); err == nil {
			e.out, err = m.stream(stderrKey)
		}
	default:
		return entry{}, fmt.Errorf("unsupported access logger %s", tc.GetTypeUrl())
	}
	if err != nil {
		return entry{}, fmt.Errorf("%s: %w", tc.GetTypeUrl(), err)
	}
	return e, nil
}

// defaultFormat parses Envoy's default format.
func defaultFormat() (appender, error) {
	return format.Parse(format.DefaultFormat)
}

// fileFormat reads FileAccessLog's format, including the deprecated format,
// json_format and typed_json_format fields. json_format renders typed values, as
// current Envoy does.
func fileFormat(c *filev3.FileAccessLog) (appender, error) {
	switch f := c.GetAccessLogFormat().(type) {
	case *filev3.FileAccessLog_Format:
		if f.Format == "" {
			return defaultFormat()
		}
		return format.Parse(f.Format)
	case *filev3.FileAccessLog_JsonFormat:
		return format.ParseJSON(f.JsonFormat, format.Options{})
	case *filev3.FileAccessLog_TypedJsonFormat:
		return format.ParseJSON(f.TypedJsonFormat, format.Options{})
	case *filev3.FileAccessLog_LogFormat:
		return logFormat(f.LogFormat)
	}
	return defaultFormat()
}

// logFormat compiles a SubstitutionFormatString; nil means the default format.
func logFormat(sfs *corev3.SubstitutionFormatString) (appender, error) {
	if sfs == nil {
		return defaultFormat()
	}
	if len(sfs.GetFormatters()) > 0 {
		return nil, errors.New("log_format.formatters: formatter extensions are not supported")
	}
	opts := format.Options{OmitEmptyValues: sfs.GetOmitEmptyValues()}
	switch f := sfs.GetFormat().(type) {
	case *corev3.SubstitutionFormatString_TextFormat:
		return format.ParseText(f.TextFormat, opts)
	case *corev3.SubstitutionFormatString_TextFormatSource:
		s, err := dataSource(f.TextFormatSource)
		if err != nil {
			return nil, fmt.Errorf("log_format.text_format_source: %w", err)
		}
		return format.ParseText(s, opts)
	case *corev3.SubstitutionFormatString_JsonFormat:
		return format.ParseJSON(f.JsonFormat, opts)
	}
	return nil, errors.New("log_format: no format set")
}

// dataSource reads an inline string, inline bytes or a file.
func dataSource(ds *corev3.DataSource) (string, error) {
	switch s := ds.GetSpecifier().(type) {
	case *corev3.DataSource_InlineString:
		return s.InlineString, nil
	case *corev3.DataSource_InlineBytes:
		return string(s.InlineBytes), nil
	case *corev3.DataSource_Filename:
		b, err := os.ReadFile(s.Filename)
		if err != nil {
			return "", err
		}
		return string(b), nil
	case nil:
		return "", errors.New("no data source set")
	}
	return "", fmt.Errorf("unsupported data source %T", ds.GetSpecifier())
}
