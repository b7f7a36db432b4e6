// Package ca is the control plane's certificate authority, kept minimal for now: a
// self-signed root (New, or Load from PEM an operator keeps), and serving
// certificates it issues for DNS names and IP addresses (Issue, ServingConfig), which
// the webhooks serve on 15017 and secure xDS on 15012, and which the Kubernetes API
// server trusts through the webhook configuration's caBundle and the proxies through
// the istio-ca-root-cert ConfigMap (RootPEM).
//
// It does not yet sign workload certificates (SPIFFE identities, CSRs over gRPC on
// 15012), support an intermediate under an operator's root, or keep the root in a
// Kubernetes Secret; the mTLS work grows it in that direction, keeping this API.
//
// Keys are ECDSA P-256. The package imports only the standard library and must not
// import the rest of the control plane, the proxy or Kubernetes.
package ca
