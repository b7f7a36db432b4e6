package kubetest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	certutil "k8s.io/client-go/util/cert"
)

// Cluster is a running etcd, kube-apiserver and kube-controller-manager.
type Cluster struct {
	// Config reaches the API server as a member of system:masters.
	Config *rest.Config
	// Kubeconfig is the path of a kubeconfig file with the same credentials, for
	// kubectl and `weft control --kubeconfig`.
	Kubeconfig string
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	// Node is the name of the Node that Start creates; RunPod and MarkPodRunning bind
	// pods there unless their spec names another.
	Node string

	dir    string
	procs  []*process // in start order
	mapper *restmapper.DeferredDiscoveryRESTMapper

	mu        sync.Mutex
	istioCRDs bool // ApplyIstioCRDs has succeeded
}

type options struct {
	serviceCIDR    string
	apiserverArgs  []string
	controllerArgs []string
}

// Option changes how Start runs the control plane.
type Option func(*options)

// ServiceCIDR sets the range Service cluster IPs come from (default 10.96.0.0/16).
func ServiceCIDR(cidr string) Option {
	return func(o *options) { o.serviceCIDR = cidr }
}

// APIServerArgs adds flags to kube-apiserver's, after the defaults, which they override.
func APIServerArgs(args ...string) Option {
	return func(o *options) { o.apiserverArgs = append(o.apiserverArgs, args...) }
}

// ControllerManagerArgs adds flags to kube-controller-manager's, after the defaults.
func ControllerManagerArgs(args ...string) Option {
	return func(o *options) { o.controllerArgs = append(o.controllerArgs, args...) }
}

// Start runs a control plane of its own for t, in a temporary directory, and stops it
// when t ends, leaving no process behind. It returns once the API server is ready and
// the controllers have started (about 5 s). Without the binaries it fails or skips t as
// the package documentation says.
func Start(t testing.TB, opts ...Option) *Cluster {
	t.Helper()
	bin := requireBinaries(t)
	c, err := start(t.Context(), bin, t.TempDir(), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.stop)
	return c
}

// start starts a cluster, trying again on fresh ports if another program took one.
func start(ctx context.Context, bin, dir string, opts ...Option) (*Cluster, error) {
	o := options{serviceCIDR: "10.96.0.0/16"}
	for _, opt := range opts {
		opt(&o)
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	for attempt := 1; ; attempt++ {
		try := filepath.Join(dir, strconv.Itoa(attempt))
		c, err := startOnce(ctx, bin, try, o)
		if err == nil || !errors.Is(err, errPortTaken) || attempt == 3 {
			return c, err
		}
	}
}

func startOnce(ctx context.Context, bin, dir string, o options) (c *Cluster, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	ports, err := freePorts(3)
	if err != nil {
		return nil, err
	}
	c = &Cluster{dir: dir, Node: "kubetest"}
	defer func() {
		if err != nil {
			c.stop()
			c = nil
		}
	}()
	if err := c.startEtcd(ctx, bin, ports[0], ports[1]); err != nil {
		return c, err
	}
	if err := c.startAPIServer(ctx, bin, ports[2], ports[0], o); err != nil {
		return c, err
	}
	if err := c.startControllerManager(ctx, bin, o); err != nil {
		return c, err
	}
	if _, err := c.createNode(ctx, c.Node, nil); err != nil {
		return c, err
	}
	// A child that could not bind its port may have exited while another program
	// answered in its place.
	for _, p := range c.procs {
		if err := p.exited(); err != nil {
			return c, portTaken(p, err)
		}
	}
	return c, nil
}

func (c *Cluster) startEtcd(ctx context.Context, bin string, clientPort, peerPort int) error {
	client := "http://127.0.0.1:" + strconv.Itoa(clientPort)
	peer := "http://127.0.0.1:" + strconv.Itoa(peerPort)
	p, err := startProcess(bin, c.dir, "etcd", flags(
		"data-dir", filepath.Join(c.dir, "etcd"),
		"listen-client-urls", client, "advertise-client-urls", client,
		"listen-peer-urls", peer, "initial-advertise-peer-urls", peer,
		"initial-cluster", "default="+peer,
		"unsafe-no-fsync", "true",
		"log-level", "warn",
	)...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	err = waitReady(ctx, p, func(ctx context.Context) error { return httpOK(ctx, http.DefaultClient, client+"/health") })
	return portTaken(p, err)
}

func (c *Cluster) startAPIServer(ctx context.Context, bin string, port, etcdPort int, o options) error {
	creds, err := writeCredentials(c.dir)
	if err != nil {
		return err
	}
	args := flags(
		"etcd-servers", "http://127.0.0.1:"+strconv.Itoa(etcdPort),
		"bind-address", "127.0.0.1", "advertise-address", "127.0.0.1",
		"secure-port", strconv.Itoa(port),
		"cert-dir", creds.certDir,
		"token-auth-file", creds.tokenFile,
		"authorization-mode", "RBAC",
		"service-account-issuer", "https://kubernetes.default.svc.cluster.local",
		"service-account-key-file", creds.serviceAccountKey,
		"service-account-signing-key-file", creds.serviceAccountKey,
		"service-cluster-ip-range", o.serviceCIDR,
		"endpoint-reconciler-type", "none",
		// There is no kube-proxy: a webhook or aggregated API named by its Service is
		// called at a ready endpoint from the Service's EndpointSlices, not its cluster IP.
		"enable-aggregator-routing", "true",
		"allow-privileged", "true",
		"enable-priority-and-fairness", "false",
		"profiling", "false",
	)
	p, err := startProcess(bin, c.dir, "kube-apiserver", append(args, o.apiserverArgs...)...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	host := "https://127.0.0.1:" + strconv.Itoa(port)
	err = waitReady(ctx, p, func(ctx context.Context) error {
		// Read the certificate on every try: kube-apiserver writes it while starting,
		// and an early read may find the file empty or half written.
		cfg, err := restConfig(host, creds)
		if err != nil {
			return err
		}
		client, err := rest.HTTPClientFor(cfg)
		if err != nil {
			return err
		}
		if err := httpOK(ctx, client, host+"/readyz"); err != nil {
			return err
		}
		return c.connect(cfg)
	})
	return portTaken(p, err)
}

// restConfig reaches the API server at host as the admin, trusting the serving
// certificate kube-apiserver has written.
func restConfig(host string, creds credentials) (*rest.Config, error) {
	ca, err := os.ReadFile(filepath.Join(creds.certDir, "apiserver.crt"))
	if err != nil {
		return nil, err
	}
	if _, err := certutil.ParseCertsPEM(ca); err != nil {
		return nil, fmt.Errorf("serving certificate: %w", err)
	}
	return &rest.Config{
		Host:            host,
		BearerToken:     creds.token,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		QPS:             1000,
		Burst:           2000,
	}, nil
}

// connect makes the clients and the kubeconfig file for cfg.
func (c *Cluster) connect(cfg *rest.Config) error {
	c.Config = cfg
	c.Kubeconfig = filepath.Join(c.dir, "kubeconfig")
	if err := writeKubeconfig(c.Kubeconfig, cfg); err != nil {
		return err
	}
	var err error
	if c.Client, err = kubernetes.NewForConfig(cfg); err != nil {
		return err
	}
	if c.Dynamic, err = dynamic.NewForConfig(cfg); err != nil {
		return err
	}
	c.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery()))
	return nil
}

// controllers are the kube-controller-manager controllers a mesh needs without a
// kubelet: EndpointSlices for Services, Deployments down to Pods, each namespace's
// default ServiceAccount, namespace deletion and owner-reference garbage collection.
const controllers = "endpointslice-controller,deployment-controller,replicaset-controller," +
	"serviceaccount-controller,namespace-controller,garbage-collector-controller"

func (c *Cluster) startControllerManager(ctx context.Context, bin string, o options) error {
	args := flags(
		"kubeconfig", c.Kubeconfig,
		"controllers", controllers,
		"leader-elect", "false",
		"secure-port", "0",
		"profiling", "false",
	)
	p, err := startProcess(bin, c.dir, "kube-controller-manager", append(args, o.controllerArgs...)...)
	if err != nil {
		return err
	}
	c.procs = append(c.procs, p)
	// The ServiceAccount controller making default/default shows the controllers run.
	return waitReady(ctx, p, func(ctx context.Context) error {
		_, err := c.Client.CoreV1().ServiceAccounts(metav1.NamespaceDefault).Get(ctx, "default", metav1.GetOptions{})
		return err
	})
}

// Log returns what component (etcd, kube-apiserver or kube-controller-manager) has
// written to its output so far, for a test to show when something went wrong.
func (c *Cluster) Log(component string) string {
	for _, p := range c.procs {
		if p.name == component {
			b, _ := os.ReadFile(p.log)
			return string(b)
		}
	}
	return ""
}

// stop stops the processes in reverse order.
func (c *Cluster) stop() {
	for i := len(c.procs) - 1; i >= 0; i-- {
		c.procs[i].stop()
	}
}

func httpOK(ctx context.Context, client *http.Client, url string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	return nil
}
