// Package inject adds weft's sidecar to a pod, as Istio's sidecar injector does: an
// init container istio-init running `weft iptables` (the capture rules, from the
// pod's traffic.sidecar.istio.io annotations), and istio-proxy running `weft proxy`
// as a native sidecar (an init container with restartPolicy Always), as uid/gid 1337,
// with its identity from the downward API, its readiness on 15021, and the app
// containers' probes moved to its status port (15020).
//
// Pod is a pure function of a Config and a pod: it decides (Decide), validates the
// pod's injection annotations, and returns an injected copy recording what it added
// in the sidecar.istio.io/status annotation, so that an injected pod is never
// injected twice. `weft kube-inject` and the admission webhook (package webhook
// below) share it.
//
// The package imports the Kubernetes API types and internal/iptables (to validate
// the capture annotations with the parsers weft iptables uses). It must not import
// internal/proxy or internal/control, and internal/proxy must not import it: the two
// agree on plain environment variables and JSON (ISTIO_KUBE_APP_PROBERS).
package inject
