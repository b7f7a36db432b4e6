package xdsgen

import (
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	proxyconfig "github.com/weftmesh/weft/internal/proxy/config"
)

// validate runs m's generated validation and, for what the weft proxy consumes, the
// proxy's field coverage check. The coverage check needs the proxy's packages linked
// (they register what they implement in init, as cmd/weft does); when the resource's
// own type is not registered, only the generated validation runs. Proxyless gRPC
// resources are for grpc-go, not the weft proxy, and skip the coverage check.
func validate(m proto.Message, proxyless bool) error {
	if err := proxyconfig.Validate(m); err != nil {
		return err
	}
	if proxyless {
		return nil
	}
	if !registered(m.ProtoReflect().Descriptor()) {
		return nil
	}
	return proxyconfig.Check(m)
}

// registered reports whether the proxy declared support for any field of d.
func registered(d protoreflect.MessageDescriptor) bool {
	fields := d.Fields()
	for i := 0; i < fields.Len(); i++ {
		if proxyconfig.Supported(d.FullName(), fields.Get(i).Name()) {
			return true
		}
	}
	return false
}
