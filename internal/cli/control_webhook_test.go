package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/pflag"
	admissionv1 "k8s.io/api/admission/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestControlWebhook: weft control's --webhook-address serves the injection webhook,
// and the validating webhook beside it, over TLS with a certificate from the root
// kept in --ca-dir.
func TestControlWebhook(t *testing.T) {
	dir := t.TempDir()
	f := webhookFlags{hosts: []string{"127.0.0.1"}, caDir: dir}
	if job, err := f.job(nil, slog.New(slog.DiscardHandler)); job != nil || err != nil {
		t.Fatalf("job without a listener address: %v, %v", job != nil, err)
	}
	f.addr = "127.0.0.1:0"
	root, err := loadOrCreateCA(dir)
	if err != nil {
		t.Fatal(err)
	}
	again, err := loadOrCreateCA(dir)
	if err != nil || !bytes.Equal(again.RootPEM(), root.RootPEM()) {
		t.Fatalf("the root in --ca-dir is not kept: %v", err)
	}
	rootPEM, _ := os.ReadFile(filepath.Join(dir, "root-cert.pem"))

	// job listens before it returns; find the address from the log line.
	var logs bytes.Buffer
	job, err := f.job(root, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	addr := between(logs.String(), "address=", " ")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- job(ctx) }()
	defer func() { cancel(); <-done }()

	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(rootPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	defer client.CloseIdleConnections()
	body, _ := json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "1", Kind: metav1.GroupVersionKind{Version: "v1", Kind: "Pod"},
			Namespace: "default", Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: []byte(`{"metadata":{"name":"p"},"spec":{"containers":[{"name":"a","image":"a"}]}}`)}},
	})
	resp, err := client.Post("https://"+addr+"/inject", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out admissionv1.AdmissionReview
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || !out.Response.Allowed || len(out.Response.Patch) == 0 {
		t.Errorf("response %+v, %v", out.Response, err)
	}

	body, _ = json.Marshal(admissionv1.AdmissionReview{
		TypeMeta: metav1.TypeMeta{APIVersion: "admission.k8s.io/v1", Kind: "AdmissionReview"},
		Request: &admissionv1.AdmissionRequest{UID: "2", Kind: metav1.GroupVersionKind{Group: "networking.istio.io", Version: "v1", Kind: "VirtualService"},
			Namespace: "default", Operation: admissionv1.Create,
			Object: runtime.RawExtension{Raw: []byte(`{"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"bad"},"spec":{"hosts":["a"]}}`)}},
	})
	resp, err = client.Post("https://"+addr+"/validate", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out = admissionv1.AdmissionReview{}
	want := "Error [IST0106] (VirtualService default/bad) Schema validation error: spec: at least one of http, tcp or tls routes is required"
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.Response.Allowed || out.Response.Result.Message != want {
		t.Errorf("/validate: response %+v, %v; want denied with %q", out.Response, err, want)
	}
}

func between(s, start, end string) string {
	_, rest, _ := strings.Cut(s, start)
	v, _, _ := strings.Cut(rest, end)
	return v
}

// TestTLSHostsFlag: --tls-hosts names the serving certificate's hosts, istiod's
// Service by default; --webhook-hosts, its former name, still sets them.
func TestTLSHostsFlag(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{nil, []string{"istiod.istio-system.svc"}},
		{[]string{"--tls-hosts", "istiod.weft.svc,127.0.0.1"}, []string{"istiod.weft.svc", "127.0.0.1"}},
		{[]string{"--webhook-hosts", "istiod.old.svc"}, []string{"istiod.old.svc"}},
	} {
		var f webhookFlags
		fl := pflag.NewFlagSet("control", pflag.ContinueOnError)
		fl.SetOutput(io.Discard)
		addWebhookFlags(fl, &f)
		if err := fl.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(f.hosts, tc.want) {
			t.Errorf("%v: hosts %v, want %v", tc.args, f.hosts, tc.want)
		}
	}
}
