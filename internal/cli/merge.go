package cli

import (
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	"google.golang.org/protobuf/proto"
)

// mergeBootstrap merges over into b with protobuf merge semantics, as Envoy merges
// --config-yaml over the file.
func mergeBootstrap(b, over *bootstrapv3.Bootstrap) { proto.Merge(b, over) }
