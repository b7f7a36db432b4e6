package webhook

import (
	"testing"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// TestConfigurationSelects: the webhook configuration's selectors send a pod to the
// handler exactly when Istio's would, and never twice.
func TestConfigurationSelects(t *testing.T) {
	cfg, err := Configuration("istio-sidecar-injector", "default", Target{URL: "https://127.0.0.1:15017"}, []byte("ca"))
	if err != nil {
		t.Fatal(err)
	}
	type l = map[string]string
	for _, tc := range []struct {
		name   string
		ns     l
		pod    l
		called bool
	}{
		{"labelled namespace", l{"istio-injection": "enabled"}, nil, true},
		{"labelled namespace, pod opts out", l{"istio-injection": "enabled"}, l{"sidecar.istio.io/inject": "false"}, false},
		{"namespace disabled", l{"istio-injection": "disabled"}, nil, false},
		{"namespace disabled, pod opts in", l{"istio-injection": "disabled"}, l{"sidecar.istio.io/inject": "true"}, false},
		{"revision namespace", l{"istio.io/rev": "default"}, nil, true},
		{"other revision namespace", l{"istio.io/rev": "canary"}, nil, false},
		{"unlabelled namespace", nil, nil, false},
		{"unlabelled namespace, pod opts in", nil, l{"sidecar.istio.io/inject": "true"}, true},
		{"unlabelled namespace, pod revision", nil, l{"istio.io/rev": "default"}, true},
		{"unlabelled namespace, pod other revision", nil, l{"istio.io/rev": "canary"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := 0
			for _, w := range cfg.Webhooks {
				if matches(t, w.NamespaceSelector, tc.ns) && matches(t, w.ObjectSelector, tc.pod) {
					n++
				}
			}
			if n > 1 || (n == 1) != tc.called {
				t.Errorf("%d webhooks match, want the handler called: %v", n, tc.called)
			}
		})
	}
	for _, w := range cfg.Webhooks {
		if *w.ClientConfig.URL != "https://127.0.0.1:15017" || string(w.ClientConfig.CABundle) != "ca" ||
			*w.FailurePolicy != admissionregistrationv1.Fail || w.Rules[0].Operations[0] != admissionregistrationv1.Create {
			t.Errorf("webhook %s: %+v", w.Name, w)
		}
	}
	svc, err := Configuration("x", "default", Target{Service: &admissionregistrationv1.ServiceReference{Namespace: "istio-system", Name: "istiod"}}, nil)
	if err != nil || *svc.Webhooks[0].ClientConfig.Service.Path != Path {
		t.Errorf("service target: %v", err)
	}
	if _, err := Configuration("x", "default", Target{}, nil); err == nil {
		t.Error("no target: no error")
	}
}

func matches(t *testing.T, s *metav1.LabelSelector, set map[string]string) bool {
	t.Helper()
	sel, err := metav1.LabelSelectorAsSelector(s)
	if err != nil {
		t.Fatal(err)
	}
	return sel.Matches(labels.Set(set))
}
