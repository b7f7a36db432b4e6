package leader

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
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
	api := c.Client.AdmissionregistrationV1()
	for _, name := range c.Mutating {
		synced = append(synced, c.watch(ctx, name, &admissionregistrationv1.MutatingWebhookConfiguration{},
			func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
				return api.MutatingWebhookConfigurations().List(ctx, o)
			},
			func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
				return api.MutatingWebhookConfigurations().Watch(ctx, o)
			},
			notify))
	}
	for _, name := range c.Validating {
		synced = append(synced, c.watch(ctx, name, &admissionregistrationv1.ValidatingWebhookConfiguration{},
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

// watch runs an informer on the configuration called name, and returns when it has
// synced.
func (c *CABundle) watch(ctx context.Context, name string, obj runtime.Object,
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
	go inf.RunWithContext(ctx)
	return inf.HasSynced
}

// sync writes Bundle into every configuration whose webhooks lack it.
func (c *CABundle) sync(ctx context.Context) error {
	api := c.Client.AdmissionregistrationV1()
	for _, name := range c.Mutating {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cfg, err := api.MutatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			changed := false
			for i := range cfg.Webhooks {
				changed = c.set(&cfg.Webhooks[i].ClientConfig) || changed
			}
			if !changed {
				return nil
			}
			_, err = api.MutatingWebhookConfigurations().Update(ctx, cfg, metav1.UpdateOptions{FieldManager: "weft-control"})
			if err == nil {
				c.Log.Info("webhook caBundle written", "mutatingwebhookconfiguration", name)
			}
			return err
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("mutatingwebhookconfiguration %s: %w", name, err)
		}
	}
	for _, name := range c.Validating {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			cfg, err := api.ValidatingWebhookConfigurations().Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			changed := false
			for i := range cfg.Webhooks {
				changed = c.set(&cfg.Webhooks[i].ClientConfig) || changed
			}
			if !changed {
				return nil
			}
			_, err = api.ValidatingWebhookConfigurations().Update(ctx, cfg, metav1.UpdateOptions{FieldManager: "weft-control"})
			if err == nil {
				c.Log.Info("webhook caBundle written", "validatingwebhookconfiguration", name)
			}
			return err
		})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("validatingwebhookconfiguration %s: %w", name, err)
		}
	}
	return nil
}

func (c *CABundle) set(cc *admissionregistrationv1.WebhookClientConfig) bool {
	if bytes.Equal(cc.CABundle, c.Bundle) {
		return false
	}
	cc.CABundle = c.Bundle
	return true
}
