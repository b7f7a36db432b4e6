package ads

import (
	"sync"
	"sync/atomic"

	"github.com/weftmesh/weft/internal/control/mesh"
)

// maxValidated bounds the validation cache; past it the cache starts again empty. A mesh
// of 5000 services has about 20000 distinct resources per kind of node.
const maxValidated = 1 << 18

// validKey names one validated content: what validation depends on.
type validKey struct {
	typeURL   string
	hash      uint64
	proxyless bool
}

// validCache remembers the resources that passed validation, by content. Failures are
// not kept: they are rare, and their message names the node.
type validCache struct {
	ok sync.Map // validKey → struct{}
	n  atomic.Int64
}

// validate runs the server's Validator on r unless the same content passed before.
func (s *Server) validate(node *mesh.Node, typeURL string, r Resource, hash uint64) error {
	if s.opts.Validate == nil {
		return nil
	}
	k := validKey{typeURL: typeURL, hash: hash, proxyless: node.Proxyless}
	if _, ok := s.valid.ok.Load(k); ok {
		s.m.validationHits.Inc()
		return nil
	}
	if err := s.opts.Validate(node, typeURL, r.Name, r.Message); err != nil {
		return err
	}
	s.m.validations.Inc()
	if s.valid.n.Add(1) > maxValidated {
		s.valid.ok.Clear()
		s.valid.n.Store(1)
	}
	s.valid.ok.Store(k, struct{}{})
	return nil
}
