package upstream

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
)

// maxTCPReceive bounds what a TCP health check reads while waiting for its
// receive payloads.
const maxTCPReceive = 64 << 10

// tcpCheck is a validated TcpHealthCheck: bytes to send, and byte strings the
// answer must contain in order. Without receive payloads, connecting is the check.
type tcpCheck struct {
	send    []byte
	receive [][]byte
}

func tcpProber(th *corev3.HealthCheck_TcpHealthCheck) (func(*healthChecker, *Host) probe, error) {
	tc := &tcpCheck{}
	var err error
	if th.GetSend() != nil {
		if tc.send, err = payloadBytes(th.GetSend()); err != nil {
			return nil, fmt.Errorf("send.%w", err)
		}
	}
	for i, p := range th.GetReceive() {
		b, err := payloadBytes(p)
		if err != nil {
			return nil, fmt.Errorf("receive[%d].%w", i, err)
		}
		tc.receive = append(tc.receive, b)
	}
	return func(k *healthChecker, h *Host) probe { return &tcpProbe{k: k, h: h, tc: tc} }, nil
}

func payloadBytes(p *corev3.HealthCheck_Payload) ([]byte, error) {
	switch v := p.GetPayload().(type) {
	case *corev3.HealthCheck_Payload_Text:
		b, err := hex.DecodeString(v.Text)
		if err != nil {
			return nil, fmt.Errorf("text: not hex: %w", err)
		}
		return b, nil
	case *corev3.HealthCheck_Payload_Binary:
		return v.Binary, nil
	}
	return nil, errors.New("payload: text or binary is required")
}

// tcpProbe connects to one host, sends the payload and waits for the expected
// answer. With receive payloads and reuse_connection the connection is kept for the
// next check; a connect-only check closes it, as Envoy does.
type tcpProbe struct {
	k    *healthChecker
	h    *Host
	tc   *tcpCheck
	conn net.Conn
}

// check runs one TCP check; every failure is a network failure.
func (p *tcpProbe) check(ctx context.Context) hcResult {
	if p.conn == nil {
		c, err := p.k.dial(ctx, p.h)
		if err != nil {
			return hcNetwork
		}
		p.conn = c
	}
	deadline, _ := ctx.Deadline()
	p.conn.SetDeadline(deadline)
	conn := p.conn
	stop := context.AfterFunc(ctx, func() { conn.SetDeadline(time.Now()) })
	ok := p.exchange()
	stop()
	if !ok || !p.k.cfg.reuse || len(p.tc.receive) == 0 {
		p.close()
	} else {
		p.conn.SetDeadline(time.Time{})
	}
	if !ok {
		return hcNetwork
	}
	return hcSuccess
}

// exchange writes the send payload and reads until the receive payloads matched.
func (p *tcpProbe) exchange() bool {
	if len(p.tc.send) > 0 {
		if _, err := p.conn.Write(p.tc.send); err != nil {
			return false
		}
	}
	if len(p.tc.receive) == 0 {
		return true
	}
	var buf []byte
	chunk := make([]byte, 4096)
	for len(buf) < maxTCPReceive {
		n, err := p.conn.Read(chunk)
		buf = append(buf, chunk[:n]...)
		if containsInOrder(buf, p.tc.receive) {
			return true
		}
		if err != nil {
			return false
		}
	}
	return false
}

// containsInOrder reports whether every segment occurs in b, each after the one
// before it.
func containsInOrder(b []byte, segments [][]byte) bool {
	for _, s := range segments {
		i := bytes.Index(b, s)
		if i < 0 {
			return false
		}
		b = b[i+len(s):]
	}
	return true
}

func (p *tcpProbe) close() {
	if p.conn != nil {
		p.conn.Close()
		p.conn = nil
	}
}
