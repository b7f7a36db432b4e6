package cli

import (
	"context"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/weftmesh/weft/internal/control/ca"
	"github.com/weftmesh/weft/internal/control/leader"
)

// leaderFlags configure leader election among weft control's replicas, and the
// singleton jobs the leader runs.
type leaderFlags struct {
	elect                bool
	namespace            string
	identity             string
	lease, renew, retry  time.Duration
	caSecret             string
	mutating, validating string
}

// leaseName is the Lease the replicas elect their leader with.
const leaseName = "istio-leader"

// The keys of the CA Secret, as Istio's istio-ca-secret.
const (
	caSecretCert = "ca-cert.pem"
	caSecretKey  = "ca-key.pem"
)

func addLeaderFlags(fl *pflag.FlagSet, f *leaderFlags) {
	ns := os.Getenv("POD_NAMESPACE")
	if ns == "" {
		ns = "istio-system"
	}
	id := os.Getenv("POD_NAME")
	if id == "" {
		host, _ := os.Hostname()
		id = host + "_" + strconv.Itoa(os.Getpid())
	}
	fl.BoolVar(&f.elect, "leader-elect", true, "on Kubernetes, elect a leader among the replicas with a Lease ("+leaseName+
		" in --control-namespace); only the leader writes status, keeps the webhook configurations' caBundle "+
		"and publishes the CA root in every namespace (ConfigMap istio-ca-root-cert)")
	fl.StringVar(&f.namespace, "control-namespace", ns, "the control plane's namespace (default $POD_NAMESPACE, else istio-system): "+
		"the leader Lease and the --ca-secret Secret live there")
	fl.StringVar(&f.identity, "leader-identity", id, "this replica's name in the Lease (default $POD_NAME, else host_pid)")
	fl.DurationVar(&f.lease, "leader-lease-duration", 15*time.Second, "how long the other replicas wait after the leader's last renewal before one takes over")
	fl.DurationVar(&f.renew, "leader-renew-deadline", 10*time.Second, "how long the leader tries to renew before it stops leading")
	fl.DurationVar(&f.retry, "leader-retry-period", 2*time.Second, "how often the replicas try to acquire or renew the Lease")
	fl.StringVar(&f.caSecret, "ca-secret", "", "keep the CA's root in this Secret of --control-namespace (made by the first replica, "+
		"as istiod's istio-ca-secret), so that every replica serves the webhooks and secure xDS with certificates of one root; instead of --ca-dir")
	fl.StringVar(&f.mutating, "webhook-config-name", "istio-sidecar-injector",
		"the MutatingWebhookConfiguration whose caBundle the leader keeps equal to the CA root (with --webhook-address)")
	fl.StringVar(&f.validating, "validating-webhook-config-name", "",
		"the ValidatingWebhookConfiguration whose caBundle the leader keeps (default istio-validator-<control namespace>)")
}

// jobs returns what runs beside the control plane for the leader's work: with
// --leader-elect, the elector, which runs the singleton jobs while this replica
// leads; without, the jobs themselves. With Kubernetes and a CA root (the control
// plane serves a TLS port), they include the job publishing the root as the
// istio-ca-root-cert ConfigMap of every namespace and, with the webhooks, the job
// keeping the webhook configurations' caBundle equal to it.
func (f *leaderFlags) jobs(root *ca.CA, webhooks bool, src *sources, log *slog.Logger) ([]func(context.Context) error, error) {
	if !src.kube {
		return src.leaderJobs, nil
	}
	jobs := src.leaderJobs
	if root != nil {
		rc := &leader.RootCert{Client: src.kubeClient, Root: root.RootPEM(), Log: log}
		jobs = append(jobs, rc.Run)
	}
	if root != nil && webhooks {
		validating := f.validating
		if validating == "" {
			validating = "istio-validator-" + f.namespace
		}
		job := &leader.CABundle{Client: src.kubeClient, Mutating: []string{f.mutating}, Validating: []string{validating},
			Bundle: root.RootPEM(), Log: log}
		jobs = append(jobs, job.Run)
	}
	if !f.elect {
		return jobs, nil
	}
	e, err := leader.New(leader.Options{Client: src.kubeClient, Namespace: f.namespace, Name: leaseName, Identity: f.identity,
		LeaseDuration: f.lease, RenewDeadline: f.renew, RetryPeriod: f.retry, Log: log}, jobs...)
	if err != nil {
		return nil, err
	}
	log.Info("leader election", "lease", f.namespace+"/"+leaseName, "identity", f.identity, "jobs", len(jobs))
	return []func(context.Context) error{e.Run}, nil
}

// loadOrCreateCASecret loads the root kept in the Secret, or makes one and keeps it
// there. Replicas starting together race to create it; the losers read the winner's.
func loadOrCreateCASecret(ctx context.Context, client kubernetes.Interface, ns, name string) (*ca.CA, error) {
	secrets := client.CoreV1().Secrets(ns)
	for {
		s, err := secrets.Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			return ca.Load(s.Data[caSecretCert], s.Data[caSecretKey], ca.Options{})
		}
		if !apierrors.IsNotFound(err) {
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
		_, err = secrets.Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app.kubernetes.io/part-of": "weft"}},
			Type:       "istio.io/ca-root",
			Data:       map[string][]byte{caSecretCert: root.RootPEM(), caSecretKey: key},
		}, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			return root, err
		}
	}
}
