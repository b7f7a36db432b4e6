package kube

import (
	"errors"
	"fmt"
	"maps"
	"slices"

	"google.golang.org/protobuf/proto"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/weftmesh/weft/internal/control/config"
)

// upsert takes an added or updated object: valid, it is added or replaces the stored
// version (unless only its status or resource version changed); invalid, it is
// recorded as rejected and any stored version is deleted.
func (s *Store) upsert(obj any) {
	o, err := split(obj)
	if err != nil {
		s.log.Error("istio informer", "error", err)
		return
	}
	c := o.toConfig()
	var verr *config.ValidationError
	if err := config.Validate(&c); err != nil && !errors.As(err, &verr) {
		verr = &config.ValidationError{Kind: c.Kind, Namespace: c.Namespace, Name: c.Name,
			Fields: []config.FieldError{{Reason: err.Error()}}}
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	k := c.Key()
	s.mu.Lock()
	old, had := s.byKey[k]
	prevErr := s.rejected[k]
	s.seen[k] = c.ResourceVersion
	var ev *config.Event
	switch {
	case verr != nil:
		s.rejected[k] = verr
		if had {
			delete(s.byKey, k)
			ev = &config.Event{Type: config.Deleted, Config: old}
		}
	case !had:
		delete(s.rejected, k)
		s.byKey[k] = c
		ev = &config.Event{Type: config.Added, Config: c}
	case !sameContent(old, c):
		s.byKey[k] = c
		ev = &config.Event{Type: config.Updated, Config: c}
	}
	s.finish(k, c.Kind, ev)
	s.logValidation(k, prevErr, verr)
}

// remove takes a deleted object.
func (s *Store) remove(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	o, err := split(obj)
	if err != nil {
		s.log.Error("istio informer", "error", err)
		return
	}
	s.emitMu.Lock()
	defer s.emitMu.Unlock()
	k := o.key()
	s.mu.Lock()
	old, had := s.byKey[k]
	delete(s.byKey, k)
	delete(s.rejected, k)
	delete(s.seen, k)
	var ev *config.Event
	if had {
		ev = &config.Event{Type: config.Deleted, Config: old}
	}
	s.finish(k, o.kind, ev)
}

// finish is called with s.mu held after a change to key: it marks the kind's list
// stale, releases the lock, and tells the handlers (of ev, when not nil) and the
// status watchers.
func (s *Store) finish(key string, kind config.Kind, ev *config.Event) {
	if ev != nil {
		delete(s.lists, kind)
	}
	handlers, watchers := slices.Clone(s.handlers), slices.Collect(maps.Values(s.watchers))
	s.mu.Unlock()
	if ev != nil {
		for _, h := range handlers {
			h(*ev)
		}
	}
	for _, w := range watchers {
		w(key)
	}
}

// sameContent reports whether two versions of an object hold the same config: status
// writes change the resource version and nothing else.
func sameContent(a, b config.Config) bool {
	return maps.Equal(a.Labels, b.Labels) && maps.Equal(a.Annotations, b.Annotations) && proto.Equal(a.Spec, b.Spec)
}

// logValidation logs a newly rejected object, or one whose error was fixed.
func (s *Store) logValidation(key string, before, after *config.ValidationError) {
	switch {
	case after != nil && (before == nil || before.Error() != after.Error()):
		s.log.Warn("config rejected", "source", "kube", "error", after.Error())
	case after == nil && before != nil:
		s.log.Info("config error cleared", "source", "kube", "object", key, "was", before.Error())
	}
}

// stripManagedFields drops managedFields, which the store never reads.
func stripManagedFields(obj any) (any, error) {
	if m, ok := obj.(metav1.Object); ok {
		m.SetManagedFields(nil)
	}
	return obj, nil
}

// discover asks the API server which of the kinds it serves. A group version it does
// not know (CRDs not installed) serves none of them; other errors are returned.
func (s *Store) discover(want []kindInfo) ([]kindInfo, error) {
	served := map[string]map[string]bool{} // group version -> resources
	var out []kindInfo
	for _, ki := range want {
		res, ok := served[ki.groupVersion]
		if !ok {
			list, err := s.client.Discovery().ServerResourcesForGroupVersion(ki.groupVersion)
			switch {
			case apierrors.IsNotFound(err):
			case err != nil:
				return nil, fmt.Errorf("discover %s: %w", ki.groupVersion, err)
			default:
				res = map[string]bool{}
				for _, r := range list.APIResources {
					res[r.Name] = true
				}
			}
			served[ki.groupVersion] = res
		}
		if res[ki.resource] {
			out = append(out, ki)
		}
	}
	return out, nil
}
