// Package leader runs the control plane's singleton jobs on one replica: the
// replicas of weft control elect a leader with a coordination.k8s.io Lease
// (client-go's leaderelection), and only the leader runs the jobs (the status
// writer, CABundle), which stop when it loses the Lease; another replica then takes
// over within the lease duration. Every replica keeps serving xDS and the webhooks.
//
// CABundle is the job that keeps the webhook configurations' caBundle equal to the
// control plane's CA root; RootCert publishes that root in every namespace as the
// ConfigMap istio-ca-root-cert, which injected proxies mount to verify secure xDS.
//
// The package imports client-go and the Kubernetes API types. It must not import the
// rest of the control plane, the proxy or injection: jobs are plain functions.
package leader
