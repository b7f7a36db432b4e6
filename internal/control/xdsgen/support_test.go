package xdsgen

// The proxy packages whose init functions declare, with config.Support, the Envoy
// fields they implement. Linking them makes validate run the proxy's coverage check on
// everything the tests generate, as it runs in cmd/weft. Nothing else of them is used.
import (
	_ "github.com/weftmesh/weft/internal/proxy/hcm"
	_ "github.com/weftmesh/weft/internal/proxy/httpfilter/fault"
	_ "github.com/weftmesh/weft/internal/proxy/httpfilter/router"
	_ "github.com/weftmesh/weft/internal/proxy/lb"
	_ "github.com/weftmesh/weft/internal/proxy/listener"
	_ "github.com/weftmesh/weft/internal/proxy/netfilter"
	_ "github.com/weftmesh/weft/internal/proxy/netfilter/tcpproxy"
	_ "github.com/weftmesh/weft/internal/proxy/route"
	_ "github.com/weftmesh/weft/internal/proxy/secret"
	_ "github.com/weftmesh/weft/internal/proxy/upstream"
)
