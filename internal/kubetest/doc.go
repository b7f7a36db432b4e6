// Package kubetest runs a real Kubernetes control plane for tests: etcd,
// kube-apiserver and kube-controller-manager (EndpointSlice, Deployment, ReplicaSet,
// ServiceAccount, namespace and garbage-collector controllers), each a child process
// on free loopback ports, stopped when the test ends.
//
// There is no kubelet and no scheduler: a test creates Nodes itself, and RunPod or
// MarkPodRunning binds a pod to a node and writes the status a kubelet would (phase
// Running, pod IP, the Ready condition), so the EndpointSlice controller publishes it.
// EndpointSlice addresses cannot be loopback, so tests use addresses in a range they
// own, such as 10.250.0.0/16.
//
// The binaries come from hack/kube/build.sh. When they are missing a test fails with a
// message saying how to build them, unless WEFT_SKIP_KUBE=1 asks to skip it; when
// WEFT_KUBE_BINARIES names their directory (CI sets it) a test never skips. See
// docs/kubernetes.md.
//
// Only tests import kubetest. It must not import anything of weft's own.
package kubetest
