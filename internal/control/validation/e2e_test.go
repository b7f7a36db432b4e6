package validation_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/weftmesh/weft/internal/control/ca"
	"github.com/weftmesh/weft/internal/control/config/configtest"
	"github.com/weftmesh/weft/internal/control/validation"
	"github.com/weftmesh/weft/internal/inject/webhook"
	"github.com/weftmesh/weft/internal/kubetest"
)

// webhookName is the name the API server gives the webhook in its denials.
const webhookName = "validation.istio.io"

// TestKubeAPIServer registers the validating webhook with a real kube-apiserver
// (clientConfig.url on loopback, TLS from the control plane's CA) for every kind of
// Istio's three API groups, as Istio's configuration does, and creates objects: each
// invalid sample is refused, by the webhook with the messages weft analyze prints for
// it or, for what the CRDs' own schemas catch first, by the API server; an update
// that breaks a valid object is refused; bookinfo's networking samples and the valid
// samples are accepted. What refused each invalid sample is in testdata/e2e.golden.
func TestKubeAPIServer(t *testing.T) {
	c := kubetest.Start(t)
	c.ApplyIstioCRDs(t)
	url, root := startWebhookForAPIServer(t)
	registerWebhook(t, c, url+validation.Path, root)
	ns := c.Namespace(t)
	cl := newCreator(t, c, ns)

	// A new webhook configuration takes about a second to be used.
	bad := "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: first}\nspec: {hosts: [a]}\n"
	kubetest.Eventually(t, 30*time.Second, func() error {
		err := cl.create(bad)
		if err == nil {
			cl.delete(bad)
			return errors.New("invalid VirtualService created: the webhook is not called yet")
		}
		if !strings.Contains(err.Error(), webhookName) {
			return err
		}
		return nil
	})

	var got strings.Builder
	for _, tc := range configtest.Invalid {
		if outcome, ok := cl.invalid(t, tc); ok {
			fmt.Fprintf(&got, "== %s\n%s\n", tc.Name, strings.ReplaceAll(outcome, ns, "NS"))
		}
	}
	golden(t, filepath.Join("testdata", "e2e.golden"), got.String())

	for _, tc := range configtest.Valid { // all named test: updates after the first of a kind
		if err := cl.apply(tc.YAML); err != nil {
			t.Errorf("valid sample %s: %v", tc.Name, err)
		}
	}
	checkBookinfo(t, cl)
}

// invalid creates one invalid sample, which must be refused, and returns what refused
// it. ok is false for samples the API server cannot be sent (not an Istio object).
func (cl *creator) invalid(t *testing.T, tc configtest.Case) (outcome string, ok bool) {
	t.Helper()
	obj, err := cl.object(tc.YAML)
	if err != nil {
		return "", false
	}
	err = cl.create(tc.YAML)
	switch {
	case err == nil:
		t.Errorf("%s: created, want it refused", tc.Name)
		return "created", true
	case !strings.Contains(err.Error(), webhookName):
		return "refused by the API server: " + refusal(err), true
	}
	raw, _ := obj.MarshalJSON()
	msgs, merr := validation.ObjectMessages(raw, cl.ns)
	want := validation.Join(msgs)
	if merr != nil {
		want = merr.Error()
	}
	if prefix := fmt.Sprintf("admission webhook %q denied the request: ", webhookName); !strings.HasSuffix(err.Error(), prefix+want) {
		t.Errorf("%s: refused with\n%v\nwant\n%s%s", tc.Name, err, prefix, want)
	}
	return "denied by the webhook: " + want, true
}

// refusal summarizes the API server's own refusal: its reason and the causes it
// gives for fields, sorted (the API server lists them in no fixed order), or its
// message when it names no field.
func refusal(err error) string {
	var status apierrors.APIStatus
	if !errors.As(err, &status) {
		return err.Error()
	}
	var causes []string
	if d := status.Status().Details; d != nil {
		for _, c := range d.Causes {
			if c.Field != "" && c.Field != "<nil>" {
				causes = append(causes, c.Field+": "+c.Message)
			}
		}
	}
	if len(causes) == 0 {
		return string(status.Status().Reason) + ": " + status.Status().Message
	}
	slices.Sort(causes)
	return string(status.Status().Reason) + ": " + strings.Join(causes, "; ")
}

// checkBookinfo creates or updates every object of Istio's bookinfo networking
// samples (some files define the same objects), then updates one to be invalid.
func checkBookinfo(t *testing.T, cl *creator) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(bookinfoDir(t), "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("bookinfo samples: %v", err)
	}
	n := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, doc := range strings.Split(string(data), "\n---\n") {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			if err := cl.apply(doc); err != nil {
				t.Errorf("%s: %v", filepath.Base(f), err)
			}
			n++
		}
	}
	t.Logf("%d bookinfo objects created or updated", n)

	broken := "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: reviews}\n" +
		"spec:\n  hosts: [reviews]\n  http:\n  - route:\n    - destination: {host: reviews, subset: v1}\n      weight: -5\n"
	err = cl.apply(broken)
	want := fmt.Sprintf("admission webhook %q denied the request: Error [IST0106] (VirtualService %s/reviews) "+
		"Schema validation error: spec.http[0].route[0].weight: weight -5 must not be negative", webhookName, cl.ns)
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Errorf("update making reviews invalid: %v\nwant %s", err, want)
	}
}

// creator creates objects given as YAML in the test's namespace with the dynamic
// client.
type creator struct {
	c      *kubetest.Cluster
	ns     string
	ctx    context.Context
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newCreator(t *testing.T, c *kubetest.Cluster, ns string) *creator {
	return &creator{c: c, ns: ns, ctx: t.Context(),
		mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery()))}
}

// object decodes a YAML object and moves it to the test's namespace.
func (cl *creator) object(doc string) (*unstructured.Unstructured, error) {
	obj := &unstructured.Unstructured{}
	if err := yaml.Unmarshal([]byte(doc), &obj.Object); err != nil {
		return nil, err
	}
	if obj.Object == nil || obj.GetAPIVersion() == "" || obj.GetKind() == "" {
		return nil, errors.New("not an object")
	}
	obj.SetNamespace(cl.ns)
	return obj, nil
}

// create creates the object, with strict field validation as kubectl asks for by
// default (unknown fields are errors, where the API server would otherwise drop them
// before the webhook sees the object); an error is the API server's.
func (cl *creator) create(doc string) error {
	obj, err := cl.object(doc)
	if err != nil {
		return err
	}
	m, err := cl.mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
	if err != nil {
		return err
	}
	_, err = cl.c.Dynamic.Resource(m.Resource).Namespace(cl.ns).Create(cl.ctx, obj, metav1.CreateOptions{FieldValidation: "Strict"})
	return err
}

// apply creates the object, or updates it if it exists.
func (cl *creator) apply(doc string) error {
	err := cl.create(doc)
	if !apierrors.IsAlreadyExists(err) {
		return err
	}
	obj, _ := cl.object(doc)
	m, err := cl.mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version)
	if err != nil {
		return err
	}
	ri := cl.c.Dynamic.Resource(m.Resource).Namespace(cl.ns)
	cur, err := ri.Get(cl.ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		return err
	}
	obj.SetResourceVersion(cur.GetResourceVersion())
	_, err = ri.Update(cl.ctx, obj, metav1.UpdateOptions{FieldValidation: "Strict"})
	return err
}

func (cl *creator) delete(doc string) {
	obj, _ := cl.object(doc)
	if m, err := cl.mapper.RESTMapping(obj.GroupVersionKind().GroupKind(), obj.GroupVersionKind().Version); err == nil {
		cl.c.Dynamic.Resource(m.Resource).Namespace(cl.ns).Delete(cl.ctx, obj.GetName(), metav1.DeleteOptions{})
	}
}

// startWebhookForAPIServer serves the validating webhook over TLS on loopback, as weft
// control does (package webhook's server), with a certificate for 127.0.0.1 from a new
// CA, and returns its https URL and the CA's root in PEM.
func startWebhookForAPIServer(t *testing.T) (string, []byte) {
	t.Helper()
	root, err := ca.New(ca.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tlsConfig, err := root.ServingConfig([]string{"127.0.0.1"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(validation.Path, validation.NewHandler(nil))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- webhook.Serve(ctx, ln, mux, tlsConfig) }()
	t.Cleanup(func() { cancel(); <-done })
	return "https://" + ln.Addr().String(), root.RootPEM()
}

// registerWebhook creates a ValidatingWebhookConfiguration like Istio's: creates and
// updates of every resource of Istio's three API groups go to url.
func registerWebhook(t *testing.T, c *kubetest.Cluster, url string, caBundle []byte) {
	t.Helper()
	fail, none, scope := admissionregistrationv1.Fail, admissionregistrationv1.SideEffectClassNone, admissionregistrationv1.AllScopes
	cfg := &admissionregistrationv1.ValidatingWebhookConfiguration{
		ObjectMeta: metav1.ObjectMeta{Name: "weft-validator"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{
			Name:         webhookName,
			ClientConfig: admissionregistrationv1.WebhookClientConfig{URL: &url, CABundle: caBundle},
			Rules: []admissionregistrationv1.RuleWithOperations{{
				Operations: []admissionregistrationv1.OperationType{admissionregistrationv1.Create, admissionregistrationv1.Update},
				Rule: admissionregistrationv1.Rule{APIGroups: []string{"networking.istio.io", "security.istio.io", "telemetry.istio.io"},
					APIVersions: []string{"*"}, Resources: []string{"*"}, Scope: &scope},
			}},
			FailurePolicy: &fail, SideEffects: &none, AdmissionReviewVersions: []string{"v1"},
		}},
	}
	if _, err := c.Client.AdmissionregistrationV1().ValidatingWebhookConfigurations().Create(t.Context(), cfg, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}
