// Package proxy is weft's data plane: it builds the runtime objects of an Envoy v3
// Bootstrap (stats, secrets, clusters, listeners, access logs, the admin server) and
// runs them until told to drain. Wiring only: each piece lives in its sub-package.
// Nothing under internal/proxy imports internal/control, Kubernetes or inject.
package proxy
