// Package accesslog builds Envoy access loggers from envoy.config.accesslog.v3.AccessLog
// config: the file logger (envoy.access_loggers.file) and the stdout and stderr loggers
// (envoy.access_loggers.stdout, envoy.access_loggers.stderr), with Envoy's access log
// filters (status code, duration, not health check, response flags, header, and, or).
// Anything else is an error naming its type URL.
//
// A Manager owns the outputs: one writer per file path, shared by every logger that
// names it, and one each for stdout and stderr (which the paths /dev/stdout and
// /dev/stderr also use, so that tests and in-process meshes can capture them). Log formats an entry into a pooled buffer and copies it into the writer's
// bounded buffer in one short critical section; a goroutine per writer flushes the
// buffer every flush interval (Envoy's file_flush_interval, 1s by default), when it
// holds 64 KiB, and on Close. When the disk is slower than the logs, entries that do
// not fit are dropped and counted rather than held in memory. Reopen reopens every
// file, as SIGUSR1 and the admin /reopen_logs endpoint do for log rotation.
//
// The package registers the config fields it handles with config.Support in init.
// It imports config, format, header and streaminfo from the proxy and must not import
// the listener, hcm, router or upstream packages (they import it), nor anything
// from internal/control.
package accesslog
