package runtime

import (
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"

	"github.com/weftmesh/weft/internal/proxy/config"
)

func init() {
	config.Support(&bootstrapv3.Bootstrap{}, "layered_runtime")
	config.Support(&bootstrapv3.LayeredRuntime{}, "layers")
	config.Support(&bootstrapv3.RuntimeLayer{}, "name", "static_layer", "admin_layer")
	config.Support(&bootstrapv3.RuntimeLayer_AdminLayer{})
}
