package netfilter

import (
	"fmt"

	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	"google.golang.org/protobuf/proto"

	"github.com/weftmesh/weft/internal/proxy/config"
)

func init() {
	config.Support(&listenerv3.Filter{}, "name", "typed_config")
}

// Build builds a filter chain's network filters into one Handler. The last filter must
// be terminal and no other may be.
func Build(filters []*listenerv3.Filter, deps *Deps) (Handler, error) {
	if len(filters) == 0 {
		return nil, fmt.Errorf("filters: a filter chain needs at least one network filter")
	}
	var next Handler
	for i := len(filters) - 1; i >= 0; i-- {
		f := filters[i]
		reg, err := Lookup(f.GetName(), f.GetTypedConfig())
		if err != nil {
			return nil, fmt.Errorf("filters[%d]: %w", i, err)
		}
		last := i == len(filters)-1
		if reg.Terminal != last {
			if last {
				return nil, fmt.Errorf("filters[%d] %q: the last network filter must be terminal", i, f.GetName())
			}
			return nil, fmt.Errorf("filters[%d] %q: terminal filter must be last", i, f.GetName())
		}
		cfg, err := unpack(reg, f)
		if err != nil {
			return nil, fmt.Errorf("filters[%d] %q: %w", i, f.GetName(), err)
		}
		h, err := reg.New(cfg, deps, next)
		if err != nil {
			return nil, fmt.Errorf("filters[%d] %q: %w", i, f.GetName(), err)
		}
		next = h
	}
	return next, nil
}

func unpack(reg *Registration, f *listenerv3.Filter) (proto.Message, error) {
	cfg := reg.NewConfig()
	if f.GetTypedConfig() == nil {
		return cfg, nil
	}
	if err := f.GetTypedConfig().UnmarshalTo(cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}
