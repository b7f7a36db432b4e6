package router

import (
	"bytes"
	"context"
	"io"
	"strings"
	"time"

	"github.com/weftmesh/weft/internal/proxy/connpool"
	"github.com/weftmesh/weft/internal/proxy/header"
	"github.com/weftmesh/weft/internal/proxy/http1"
	"github.com/weftmesh/weft/internal/proxy/httpfilter"
	"github.com/weftmesh/weft/internal/proxy/lb"
	"github.com/weftmesh/weft/internal/proxy/route"
)

// mirrorTimeout bounds a shadow request, which nobody waits for.
const mirrorTimeout = 10 * time.Second

// mirror sends a copy of the request to each mirror cluster of the route, after the
// primary response: fire and forget, over HTTP/1.1, its response discarded. The copy's
// authority gets Envoy's "-shadow" suffix. A body too long to keep is not mirrored.
func (r *Router) mirror(s *httpfilter.Stream, rt *route.Entry, body *replayBody) {
	for _, mp := range rt.MirrorPolicies() {
		if mp.Runtime != nil && !mp.Runtime.Default.Enabled(s.Random) {
			continue
		}
		name := mp.Cluster
		if name == "" {
			name = s.Request.Get(mp.ClusterHeader)
		}
		c := r.clusters.Cluster(name)
		if c == nil {
			continue
		}
		var data []byte
		if body != nil {
			if body.overflow || !body.eof {
				c.Stats().RetryOrShadowAband.Inc()
				continue
			}
			data = bytes.Clone(body.buf)
		}
		h := s.Request.Clone()
		h.Set(header.Authority, shadowHost(h.Get(header.Authority)))
		host := c.Pick(lb.Context{})
		if host == nil {
			continue
		}
		go sendShadow(host.HTTP1(), h, data, c.Stats())
	}
}

// shadowHost appends "-shadow" to the host part of an authority, as Envoy does.
func shadowHost(authority string) string {
	host, port := authority, ""
	if i := strings.LastIndexByte(authority, ':'); i > 0 && !strings.Contains(authority[i:], "]") {
		host, port = authority[:i], authority[i:]
	}
	return host + "-shadow" + port
}

// sendShadow makes one shadow request and drops its response.
func sendShadow(pool *connpool.HTTP1, h header.Map, body []byte, st interface{ RecordResponse(int) }) {
	ctx, cancel := context.WithTimeout(context.Background(), mirrorTimeout)
	defer cancel()
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return
	}
	conn.SetDeadline(time.Now().Add(mirrorTimeout))
	conn.W.WriteRequestHead(&h, http1.Framing{Length: int64(len(body))}, false)
	conn.W.Write(body)
	if err := conn.W.Flush(); err != nil {
		pool.Release(conn, false)
		return
	}
	var resp header.Map
	var head http1.Head
	if err := readResponseHead(conn, &resp, &head, h.Get(header.Method)); err != nil {
		pool.Release(conn, false)
		return
	}
	st.RecordResponse(head.Status)
	b := conn.R.Body(head.Body, nil)
	_, err = io.Copy(io.Discard, b)
	pool.Release(conn, err == nil && b.Done() && head.KeepAlive)
}
