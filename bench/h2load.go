package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"time"
)

// h2load runs h2load over h2c (prior knowledge) with conns connections and streams
// concurrent streams on each, for dur.
func (e *env) h2load(ctx context.Context, url string, conns, streams int, dur time.Duration) (result, error) {
	bin, err := e.tool(ctx, "h2load")
	if err != nil {
		return result{}, err
	}
	secs := strconv.Itoa(max(1, int(dur.Seconds())))
	out, err := exec.CommandContext(ctx, bin, "-c", strconv.Itoa(conns), "-m", strconv.Itoa(streams),
		"-t", "1", "-D", secs, "--warm-up-time", "1", url).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("h2load: %w: %s", err, out)
	}
	return parseH2load(string(out))
}

var (
	h2RPS  = regexp.MustCompile(`finished in [^,]+, ([0-9.]+) req/s`)
	h2Reqs = regexp.MustCompile(`requests: (\d+) total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored`)
	h2Time = regexp.MustCompile(`time for request:\s+(\S+)\s+(\S+)\s+(\S+)`)
)

func parseH2load(out string) (result, error) {
	m := h2RPS.FindStringSubmatch(out)
	n := h2Reqs.FindStringSubmatch(out)
	t := h2Time.FindStringSubmatch(out)
	if m == nil || n == nil || t == nil {
		return result{}, fmt.Errorf("h2load: unexpected output: %s", out)
	}
	var r result
	r.QPS, _ = strconv.ParseFloat(m[1], 64)
	ok, _ := strconv.ParseInt(n[2], 10, 64)
	failed, _ := strconv.ParseInt(n[3], 10, 64)
	errored, _ := strconv.ParseInt(n[4], 10, 64)
	r.Count, r.Errors = ok+failed, failed+errored
	mean, err := time.ParseDuration(t[3])
	if err != nil {
		return r, fmt.Errorf("h2load mean %q: %w", t[3], err)
	}
	r.Mean = float64(mean) / 1e6
	if ok == 0 {
		return r, fmt.Errorf("h2load: no successful request: %s", out)
	}
	return r, nil
}

// ghz runs unary gRPC Ping calls with conns concurrent workers over one connection.
func (e *env) ghz(ctx context.Context, target string, conns int, dur time.Duration) (result, error) {
	bin, err := e.tool(ctx, "ghz")
	if err != nil {
		return result{}, err
	}
	proto := filepath.Join(e.work, "ping.proto")
	if err := os.WriteFile(proto, []byte(pingProto), 0o644); err != nil {
		return result{}, fmt.Errorf("ping.proto: %w", err)
	}
	out, err := exec.CommandContext(ctx, bin, "--insecure", "--proto", proto, "--call", "fgrpc.PingServer.Ping",
		"-d", `{"payload":"`+body[:64]+`"}`, "-c", strconv.Itoa(conns), "-z", dur.String(),
		"-O", "json", target).Output()
	if err != nil {
		return result{}, fmt.Errorf("ghz: %w: %s", err, out)
	}
	return parseGhz(out)
}

// pingProto is fortio's ping service (fortio.org/fortio/fgrpc/ping.proto).
const pingProto = `syntax = "proto3";
package fgrpc;
message PingMessage {
  int64 seq = 1;
  int64 ts = 2;
  string payload = 3;
  int64 delayNanos = 4;
}
service PingServer {
  rpc Ping (PingMessage) returns (PingMessage) {}
}
`

func parseGhz(out []byte) (result, error) {
	var j struct {
		Count                  int64
		Average                float64
		RPS                    float64
		StatusCodeDistribution map[string]int64
		ErrorDistribution      map[string]int64
		LatencyDistribution    []struct {
			Percentage int
			Latency    float64
		}
	}
	if err := json.Unmarshal(out, &j); err != nil {
		return result{}, fmt.Errorf("ghz output: %w", err)
	}
	r := result{QPS: j.RPS, Count: j.Count, Mean: j.Average / 1e6, Pct: map[string]float64{}, ErrKinds: j.ErrorDistribution}
	for code, n := range j.StatusCodeDistribution {
		if code != "OK" {
			r.Errors += n
		}
	}
	for _, d := range j.LatencyDistribution {
		r.Pct[strconv.Itoa(d.Percentage)] = d.Latency / 1e6
	}
	if r.Count == 0 || r.Errors == r.Count {
		return r, fmt.Errorf("ghz: no successful call (codes %v)", j.StatusCodeDistribution)
	}
	return r, nil
}
