package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/weftmesh/weft/internal/control/ca"
	"github.com/weftmesh/weft/internal/control/validation"
	"github.com/weftmesh/weft/internal/inject/webhook"
)

// webhookFlags configure the webhooks weft control serves: sidecar injection and
// Istio config validation.
type webhookFlags struct {
	addr   string
	hosts  []string
	caDir  string
	inject injectFlags
}

func addWebhookFlags(fl *pflag.FlagSet, f *webhookFlags) {
	fl.StringVar(&f.addr, "webhook-address", "", "serve the sidecar injection and config validation webhooks (AdmissionReview v1 at /inject and /validate, TLS) there, e.g. :15017")
	hosts := []string{"istiod.istio-system.svc"}
	// Both names set f.hosts; each flag stores its default there when defined.
	fl.StringSliceVar(&f.hosts, "webhook-hosts", hosts, "the former name of --tls-hosts")
	fl.StringSliceVar(&f.hosts, "tls-hosts", hosts,
		"DNS names and IPs of the serving certificate of --webhook-address and --secure-xds-address (the istiod Service's names, "+
			"which the API server and the proxies verify)")
	_ = fl.MarkDeprecated("webhook-hosts", "use --tls-hosts")
	fl.StringVar(&f.caDir, "ca-dir", "", "directory of the CA's root-cert.pem and root-key.pem, made there when missing "+
		"(default: a new root in memory); root-cert.pem is the webhook configuration's caBundle and what proxies verify secure xDS with")
	fl.StringVar(&f.inject.configPath, "inject-config", "", "injector config YAML for the webhook (as weft kube-inject --inject-config)")
}

// job returns the webhook server (/inject and /validate) to run beside the control
// plane, with a serving certificate of root, or nil without --webhook-address. The
// listener is open when it returns.
func (f *webhookFlags) job(root *ca.CA, log *slog.Logger) (func(context.Context) error, error) {
	if f.addr == "" {
		return nil, nil
	}
	cfg, err := f.inject.config()
	if err != nil {
		return nil, fmt.Errorf("--inject-config: %w", err)
	}
	tlsConfig, err := root.ServingConfig(f.hosts, servingTTL)
	if err != nil {
		return nil, fmt.Errorf("--tls-hosts: %w", err)
	}
	ln, err := net.Listen("tcp", f.addr)
	if err != nil {
		return nil, fmt.Errorf("--webhook-address: %w", err)
	}
	log.Info("sidecar injection and validation webhooks", "address", ln.Addr(), "hosts", f.hosts, "ca-dir", f.caDir)
	mux := webhook.NewHandler(cfg, log).Mux()
	mux.Handle(validation.Path, validation.NewHandler(log))
	return func(ctx context.Context) error { return webhook.Serve(ctx, ln, mux, tlsConfig) }, nil
}

// loadOrCreateCA loads the root kept in dir, or makes one and keeps it there; with
// no dir the root lives in memory only.
func loadOrCreateCA(dir string) (*ca.CA, error) {
	if dir == "" {
		return ca.New(ca.Options{})
	}
	certPath, keyPath := filepath.Join(dir, "root-cert.pem"), filepath.Join(dir, "root-key.pem")
	cert, err := os.ReadFile(certPath)
	if err == nil {
		key, err := os.ReadFile(keyPath)
		if err != nil {
			return nil, err
		}
		return ca.Load(cert, key, ca.Options{})
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, err
	}
	root, err := ca.New(ca.Options{})
	if err != nil {
		return nil, err
	}
	key, err := root.KeyPEM()
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(keyPath, key, 0o600); err != nil {
		return nil, err
	}
	return root, os.WriteFile(certPath, root.RootPEM(), 0o644)
}
