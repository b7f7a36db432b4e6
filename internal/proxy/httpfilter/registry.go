package httpfilter

import (
	"fmt"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/weftmesh/weft/internal/proxy/runtime"
	"github.com/weftmesh/weft/internal/proxy/upstream"
	"github.com/weftmesh/weft/internal/stats"
)

// Deps are what filter factories may use.
type Deps struct {
	Clusters *upstream.Manager
	Stats    *stats.Store
	// StatPrefix is the connection manager's stat prefix ("http.<stat_prefix>.").
	StatPrefix string
	// Runtime is the layered runtime (runtime keys and fractions); may be nil.
	Runtime *runtime.Store
}

// Registration describes one filter extension.
type Registration struct {
	// TypeURL is the type URL of the filter's config message.
	TypeURL string
	// Names are the extension names a config may use instead of a typed_config
	// ("envoy.filters.http.router").
	Names []string
	// New builds the filter from its config message (an instance of the TypeURL's type,
	// the default instance when the config gave only a name).
	New func(cfg proto.Message, deps *Deps) (Filter, error)
	// NewConfig returns an empty config message.
	NewConfig func() proto.Message
	// PerRoute parses typed_per_filter_config for the filter; nil means the filter has
	// no per-route config.
	PerRoute func(cfg *anypb.Any) (any, error)
	// Terminal is set for the filter that must come last (the router).
	Terminal bool
}

var (
	mu     sync.RWMutex
	byURL  = map[string]*Registration{}
	byName = map[string]*Registration{}
)

// Register adds a filter extension. It is called from init functions.
func Register(r Registration) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := byURL[r.TypeURL]; dup {
		panic("httpfilter: duplicate registration of " + r.TypeURL)
	}
	byURL[r.TypeURL] = &r
	for _, n := range r.Names {
		byName[n] = &r
	}
}

// Lookup finds the registration for a filter config: by the typed_config's type URL,
// or by name when the config has none. The error names what was not found.
func Lookup(name string, typed *anypb.Any) (*Registration, error) {
	mu.RLock()
	defer mu.RUnlock()
	if typed != nil {
		r, ok := byURL[typed.GetTypeUrl()]
		if !ok {
			return nil, fmt.Errorf("http filter %q: extension %s is not supported", name, typed.GetTypeUrl())
		}
		return r, nil
	}
	r, ok := byName[name]
	if !ok {
		return nil, fmt.Errorf("http filter %q: unknown filter name without typed_config", name)
	}
	return r, nil
}

// LookupName finds the registration of a filter by its config name or type URL, for
// typed_per_filter_config keys.
func LookupName(name string) (*Registration, bool) {
	mu.RLock()
	defer mu.RUnlock()
	if r, ok := byName[name]; ok {
		return r, true
	}
	r, ok := byURL["type.googleapis.com/"+name]
	return r, ok
}
