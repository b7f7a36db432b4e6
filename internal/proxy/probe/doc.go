// Package probe runs a pod's application probes for the kubelet, as pilot-agent does
// on its status port (15020). The sidecar injector rewrites each app container's
// HTTP, TCP and gRPC probes to GET /app-health/<container>/{readyz,livez,startupz} on
// the status port, which is never captured, and passes the original probes to the
// proxy as JSON (ISTIO_KUBE_APP_PROBERS). The proxy then makes the real check from
// inside the pod, as uid 1337, so that a probe still works when inbound traffic needs
// mutual TLS.
//
// Parse validates the JSON once into a Set; a Handler serves a Set. The JSON shape is
// Istio's (httpGet, tcpSocket, grpc, timeoutSeconds with Kubernetes' field names), but
// the types here are plain Go: the package must not import Kubernetes, the control
// plane or internal/inject (the injector writes the same JSON from its own types).
package probe
