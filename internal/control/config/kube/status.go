package kube

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"istio.io/client-go/pkg/clientset/versioned"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
)

// StatusWriter writes the store's validation results back to the objects' status:
// an invalid object gets the condition Accepted=False (reason SchemaValidationError,
// message: the error with its field paths) and Istio's IST0106 SchemaValidationError
// validation message; once it is fixed the condition turns True and the message goes.
// Valid objects that never failed are not written to. Other conditions and messages
// are kept.
//
// Writing status is a job for one replica (the elected leader): run a StatusWriter
// only there. Several writers agree on what to write, so they converge, but each
// conflict costs a retry.
type StatusWriter struct {
	store  *Store
	client versioned.Interface
	log    *slog.Logger
	now    func() time.Time
}

// StatusOption configures a StatusWriter.
type StatusOption func(*StatusWriter)

// WithStatusLogger sets the writer's logger (discarded unless set).
func WithStatusLogger(l *slog.Logger) StatusOption { return func(w *StatusWriter) { w.log = l } }

// NewStatusWriter returns a writer for the store's objects; client must reach the same
// cluster. Nothing is written until Run.
func NewStatusWriter(store *Store, client versioned.Interface, opts ...StatusOption) *StatusWriter {
	w := &StatusWriter{store: store, client: client, log: slog.New(slog.DiscardHandler), now: time.Now}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Run waits for the store to sync, checks every object once, then every object that
// changes, until ctx ends. Failed writes are retried with backoff. It returns nil
// when ctx ends.
func (w *StatusWriter) Run(ctx context.Context) error {
	q := workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
		workqueue.TypedRateLimitingQueueConfig[string]{})
	stop := w.store.watch(func(key string) { q.Add(key) })
	defer stop()
	done := make(chan struct{})
	defer func() { <-done }()
	go func() {
		defer close(done)
		<-ctx.Done()
		q.ShutDown()
	}()
	if !w.waitForStore(ctx) {
		return nil
	}
	for _, k := range w.store.keys() {
		q.Add(k)
	}
	for {
		key, quit := q.Get()
		if quit {
			return nil
		}
		if err := w.sync(ctx, key); err != nil {
			w.log.Warn("writing config status failed; will retry", "object", key, "error", err)
			q.AddRateLimited(key)
		} else {
			q.Forget(key)
		}
		q.Done(key)
	}
}

// waitForStore waits until the store has synced; false if ctx ended first.
func (w *StatusWriter) waitForStore(ctx context.Context) bool {
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !w.store.HasSynced() {
		select {
		case <-ctx.Done():
			return false
		case <-tick.C:
		}
	}
	return true
}

// sync brings one object's status in line with its validation result.
func (w *StatusWriter) sync(ctx context.Context, key string) error {
	o, verr, ok := w.store.lookup(key)
	if !ok {
		return nil
	}
	var reason string
	if verr != nil {
		reason = verr.Error()
	}
	conds, msgs, changed := desiredStatus(o.status, verr != nil, reason, o.meta.Generation, w.now())
	if !changed {
		return nil
	}
	body, err := json.Marshal(map[string]any{
		"metadata": map[string]any{"resourceVersion": o.meta.ResourceVersion},
		"status":   map[string]any{"conditions": conds, "validationMessages": msgs},
	})
	if err != nil {
		return err
	}
	ki, _ := kindOf(o.kind)
	err = ki.rest(w.client).Patch(types.MergePatchType).Namespace(o.meta.Namespace).Resource(ki.resource).
		Name(o.meta.Name).SubResource("status").Body(body).Do(ctx).Error()
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case apierrors.IsConflict(err):
		return nil // a newer version is on its way through the informer, and will be checked
	case err != nil:
		return fmt.Errorf("patch status of %s: %w", key, err)
	}
	w.log.Debug("config status written", "object", key, "valid", verr == nil)
	return nil
}

// truncate shortens a condition message to at most n bytes.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := strings.LastIndex(s[:n-3], " ")
	if cut < n/2 {
		cut = n - 3
	}
	return s[:cut] + "..."
}
