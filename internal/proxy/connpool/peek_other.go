//go:build !linux

package connpool

import "net"

// peeker cannot look at the socket on this platform; a closed connection is found when
// the request on it fails.
type peeker struct{}

func newPeeker(net.Conn) *peeker { return nil }

func (p *peeker) closed() bool { return false }

func peerClosed(net.Conn) bool { return false }
