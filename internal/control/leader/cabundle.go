package leader

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
)

// CABundle keeps the caBundle of every webhook of the named webhook configurations
// equal to Bundle, the control plane's CA root (PEM), so that the API server trusts
// the serving certificate the replicas' webhooks present. It is a leader's job:
// Run watches the configurations and writes one back whenever it differs (it was
// just installed, or re-applied without a caBundle). A configuration that does not
// exist is left alone until it is created.
type CABundle struct {
	Client kubernetes.Interface
	// Mutating and Validating name the webhook configurations.
	Mutating, Validating []string
	Bundle               []byte
	Log                  *slog.Logger
}

// Run keeps the caBundles until ctx ends.
func (c *CABundle) Run(ctx context.Context) error {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	kick := make(chan struct{}, 1)
	notify := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { poke(kick) },
		UpdateFunc: func(any, any) { poke(kick) },
	}
	var synced []cache.InformerSynced
	var informers sync.WaitGroup
	defer informers.Wait() // after ctx has ended, which stops them
	api := c.Client.AdmissionregistrationV1()
	for _, name := range c.Mutating {
		synced = append(synced, c.watch(ctx, &informers, name, &admissionregistrationv1.MutatingWebhookConfiguration{},
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return api.MutatingWebhookConfigurations().List(ctx, o)
			},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return api.MutatingWebhookConfigurations().Watch(ctx, o)
			},
			notify))
	}
	for _, name := range c.Validating {
		synced = append(synced, c.watch(ctx, &informers, name, &admissionregistrationv1.ValidatingWebhookConfiguration{},
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return api.ValidatingWebhookConfigurations().List(ctx, o)
			},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return api.ValidatingWebhookConfigurations().Watch(ctx, o)
			},
			notify))
	}
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return nil
	}
	poke(kick)
	retryAfter := time.NewTimer(time.Hour)
	defer retryAfter.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-kick:
		case <-retryAfter.C:
		}
		if err := c.sync(ctx); err != nil && ctx.Err() == nil {
			c.Log.Warn("webhook caBundle", "error", err)
			retryAfter.Reset(time.Second)
		}
	}
}

func poke(kick chan struct{}) {
	select {
	case kick <- struct{}{}:
	default:
	}
}

// watch runs an informer on the configuration called name until ctx ends, and
// returns whether it has synced.
func (c *CABundle) watch(ctx context.Context, wg *sync.WaitGroup, name string, obj runtime.Object,
	list func(context.Context, metav1.ListOptions) (runtime.Object, error),
	watchFn func(context.Context, metav1.ListOptions) (watch.Interface, error),
	h cache.ResourceEventHandler) cache.InformerSynced {
	byName := func(o *metav1.ListOptions) {
		o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
	}
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			byName(&o)
			return list(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			byName(&o)
			return watchFn(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformer(lw, obj, time.Minute, cache.Indexers{})
	_, _ = inf.AddEventHandler(h)
	wg.Go(func() { inf.RunWithContext(ctx) })
	return inf.HasSynced
}

// sync writes Bundle into every configuration whose webhooks lack it.
func (c *CABundle) sync(ctx context.Context) error {
	api := c.Client.AdmissionregistrationV1()
	update := metav1.UpdateOptions{FieldManager: "weft-control"}
	for _, name := range c.Mutating {
		err := c.write("mutatingwebhookconfiguration", name, func() (bool, error) {
			cfg, err := api.MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
			if err != nil || !c.setAll(len(cfg.Webhooks), func(i int) *admissionregistrationv1.WebhookClientConfig {
				return &cfg.Webhooks[i].ClientConfig
			}) {
				return false, err
			}
			_, err = api.MutatingWebhookConfigurations().Update(ctx, cfg, update)
			return true, err
		})
		if err != nil {
			return err
		}
	}
	for _, name := range c.Validating {
		err := c.write("validatingwebhookconfiguration", name, func() (bool, error) {
			cfg, err := api.ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
			if err != nil || !c.setAll(len(cfg.Webhooks), func(i int) *admissionregistrationv1.WebhookClientConfig {
				return &cfg.Webhooks[i].ClientConfig
			}) {
				return false, err
			}
			_, err = api.ValidatingWebhookConfigurations().Update(ctx, cfg, update)
			return true, err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// write runs update (read, set the caBundle, write if it changed) again on conflicts.
// A configuration that does not exist is not an error.
func (c *CABundle) write(kind, name string, update func() (wrote bool, err error)) error {
	var wrote bool
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var err error
		wrote, err = update()
		return err
	})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("%s %s: %w", kind, name, err)
	case wrote:
		c.Log.Info("webhook caBundle written", kind, name)
	}
	return nil
}

// setAll sets the caBundle of n webhooks' client configs to Bundle and says whether
// any differed.
func (c *CABundle) setAll(n int, clientConfig func(i int) *admissionregistrationv1.WebhookClientConfig) bool {
	changed := false
	for i := range n {
		if cc := clientConfig(i); !bytes.Equal(cc.CABundle, c.Bundle) {
			cc.CABundle, changed = c.Bundle, true
		}
	}
	return changed
}
