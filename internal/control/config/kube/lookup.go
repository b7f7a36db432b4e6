package kube

import (
	"github.com/weftmesh/weft/internal/control/config"
)

// watch adds a function told the key of every object that changed (valid or not),
// after the store took the change; it must not block. The returned function removes
// it.
func (s *Store) watch(fn func(key string)) (cancel func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextWatch
	s.nextWatch++
	s.watchers[id] = fn
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		delete(s.watchers, id)
	}
}

// keys returns the key of every object the informers hold, valid or not.
func (s *Store) keys() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []string
	for kind, inf := range s.informers {
		for _, k := range inf.GetIndexer().ListKeys() {
			out = append(out, string(kind)+"/"+k)
		}
	}
	return out
}

// lookup returns the object under key as the informer holds it, with its validation
// error. It reports false when the object is gone, or when the store has not taken
// this version of it yet (it will tell the watchers when it has).
func (s *Store) lookup(key string) (object, *config.ValidationError, bool) {
	kind, nsName := splitKey(key)
	s.mu.RLock()
	inf, verr, seen := s.informers[kind], s.rejected[key], s.seen[key]
	s.mu.RUnlock()
	if inf == nil {
		return object{}, nil, false
	}
	obj, exists, err := inf.GetIndexer().GetByKey(nsName)
	if err != nil || !exists {
		return object{}, nil, false
	}
	o, err := split(obj)
	if err != nil || o.meta.ResourceVersion != seen {
		return object{}, nil, false
	}
	return o, verr, true
}
