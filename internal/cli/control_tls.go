package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/weftmesh/weft/internal/control/ca"
)

// servingTTL is how long the TLS ports' serving certificates are valid; they are
// issued again after two thirds of it.
const servingTTL = 90 * 24 * time.Hour

// caRoot settles the CA root whose certificates the TLS ports (--webhook-address,
// --secure-xds-address) serve: kept in the --ca-secret Secret (Kubernetes only), else
// in --ca-dir, else made in memory. It is nil when no TLS port is served.
func (f *controlFlags) caRoot(ctx context.Context, src *sources) (*ca.CA, error) {
	secret := f.leader.caSecret
	if secret != "" && !src.kube {
		return nil, errors.New("--ca-secret needs Kubernetes (--kubeconfig or --kube)")
	}
	if f.webhook.addr == "" && f.secureXDSAddr == "" {
		return nil, nil
	}
	if secret != "" {
		root, err := loadOrCreateCASecret(ctx, src.kubeClient, f.leader.namespace, secret)
		if err != nil {
			return nil, fmt.Errorf("--ca-secret %s/%s: %w", f.leader.namespace, secret, err)
		}
		return root, nil
	}
	root, err := loadOrCreateCA(f.webhook.caDir)
	if err != nil {
		return nil, fmt.Errorf("--ca-dir: %w", err)
	}
	return root, nil
}

// secureXDS opens --secure-xds-address, where the ADS server is served over TLS with
// a certificate of root for --tls-hosts (istiod's 15012). It returns a nil listener
// without --secure-xds-address.
func (f *controlFlags) secureXDS(root *ca.CA, log *slog.Logger) (net.Listener, *tls.Config, error) {
	if f.secureXDSAddr == "" {
		return nil, nil, nil
	}
	cfg, err := root.ServingConfig(f.webhook.hosts, servingTTL)
	if err != nil {
		return nil, nil, fmt.Errorf("--tls-hosts: %w", err)
	}
	ln, err := net.Listen("tcp", f.secureXDSAddr)
	if err != nil {
		return nil, nil, fmt.Errorf("--secure-xds-address: %w", err)
	}
	log.Info("secure xDS", "address", ln.Addr(), "hosts", f.webhook.hosts)
	return ln, cfg, nil
}
