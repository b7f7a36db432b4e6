package file

import (
	"sort"
	"time"

	"github.com/weftmesh/weft/internal/control/config"
)

// merge builds the store's next content from the parsed files: valid objects (the first
// definition of a key wins; later ones are errors), plus the previous version of every
// object whose document is now invalid, so that a broken edit keeps the last good
// config serving.
func (s *Store) merge(readErrs []*config.ValidationError) (map[string]config.Config, []*config.ValidationError, []Object) {
	s.mu.RLock()
	prev := s.byKey
	s.mu.RUnlock()
	prevBySource := make(map[string]string, len(prev))
	for k, c := range prev {
		prevBySource[c.Source] = k
	}
	paths := make([]string, 0, len(s.files))
	for p := range s.files {
		paths = append(paths, p)
	}
	sort.Strings(paths)

	next := map[string]config.Config{}
	errs := readErrs
	var skipped []Object
	var held []string
	for _, p := range paths {
		for _, d := range s.files[p].docs {
			switch {
			case d.Config != nil:
				if err := s.add(next, prev, p, d); err != nil {
					errs = append(errs, err)
				}
			case d.Err != nil:
				errs = append(errs, d.Err)
				held = append(held, heldKeys(d.Err, prevBySource)...)
			case d.Other != nil:
				skipped = append(skipped, *d.Other)
			}
		}
	}
	for _, k := range held {
		if _, ok := next[k]; !ok {
			if c, ok := prev[k]; ok {
				next[k] = c
			}
		}
	}
	return next, errs, skipped
}

// heldKeys returns the keys of the objects a rejected document may have held before: the
// object it names, if it could be read that far, and the object that came from the same
// file and document index.
func heldKeys(err *config.ValidationError, prevBySource map[string]string) []string {
	keys := []string{string(err.Kind) + "/" + err.Namespace + "/" + err.Name}
	if k, ok := prevBySource[err.Source()]; ok {
		keys = append(keys, k)
	}
	return keys
}

// add puts a document's object into next, unless its key is taken. Objects without a
// creationTimestamp keep the time the store first saw them.
func (s *Store) add(next, prev map[string]config.Config, file string, d Document) *config.ValidationError {
	c := *d.Config
	k := c.Key()
	if other, dup := next[k]; dup {
		return &config.ValidationError{File: file, Document: d.Index, Line: d.Line, Kind: c.Kind,
			Namespace: c.Namespace, Name: c.Name,
			Fields: []config.FieldError{{Path: "metadata.name", Reason: "already defined in " + other.Source}}}
	}
	if c.CreationTime.IsZero() {
		if p, ok := prev[k]; ok {
			c.CreationTime = p.CreationTime
		} else {
			c.CreationTime = time.Now()
		}
	}
	next[k] = c
	return nil
}

// swap installs the next content and returns the events that lead to it, sorted by key.
func (s *Store) swap(next map[string]config.Config, errs []*config.ValidationError, skipped []Object) []config.Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var events []config.Event
	for k, c := range next {
		old, ok := s.byKey[k]
		switch {
		case !ok:
			events = append(events, config.Event{Type: config.Added, Config: c})
		case old.ResourceVersion != c.ResourceVersion:
			events = append(events, config.Event{Type: config.Updated, Config: c})
		}
	}
	for k, c := range s.byKey {
		if _, ok := next[k]; !ok {
			events = append(events, config.Event{Type: config.Deleted, Config: c})
		}
	}
	sort.Slice(events, func(i, j int) bool { return events[i].Config.Key() < events[j].Config.Key() })
	s.logErrors(s.errs, errs)
	s.byKey, s.errs, s.skipped = next, errs, skipped
	s.lists = listsByKind(next)
	return events
}

// listsByKind sorts the objects of each kind by namespace then name.
func listsByKind(byKey map[string]config.Config) map[config.Kind][]config.Config {
	lists := map[config.Kind][]config.Config{}
	for _, c := range byKey {
		lists[c.Kind] = append(lists[c.Kind], c)
	}
	for _, l := range lists {
		sort.Slice(l, func(i, j int) bool {
			if l[i].Namespace != l[j].Namespace {
				return l[i].Namespace < l[j].Namespace
			}
			return l[i].Name < l[j].Name
		})
	}
	return lists
}

// logErrors logs the errors that are new since the last reload and the ones fixed.
func (s *Store) logErrors(before, after []*config.ValidationError) {
	was := map[string]bool{}
	for _, e := range before {
		was[e.Error()] = true
	}
	now := map[string]bool{}
	for _, e := range after {
		now[e.Error()] = true
		if !was[e.Error()] {
			s.log.Warn("config rejected", "dir", s.dir, "error", e.Error())
		}
	}
	for _, e := range before {
		if !now[e.Error()] {
			s.log.Info("config error cleared", "dir", s.dir, "was", e.Error())
		}
	}
}
