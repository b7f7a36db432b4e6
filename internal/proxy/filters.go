package proxy

// The extensions compiled into the proxy. Each registers itself in init; adding a
// filter is one directory and one line here.
import (
	_ "github.com/weftmesh/weft/internal/proxy/hcm"
	_ "github.com/weftmesh/weft/internal/proxy/httpfilter/fault"
	_ "github.com/weftmesh/weft/internal/proxy/httpfilter/ratelimit"
	_ "github.com/weftmesh/weft/internal/proxy/httpfilter/router"
	_ "github.com/weftmesh/weft/internal/proxy/netfilter/ratelimit"
	_ "github.com/weftmesh/weft/internal/proxy/netfilter/tcpproxy"
)
