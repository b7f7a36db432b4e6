// Package upstream is the proxy's cluster manager: clusters built from Envoy v3 Cluster
// config (STATIC, STRICT_DNS, LOGICAL_DNS, ORIGINAL_DST, EDS), their hosts with
// weights, priorities, localities and health, the load balancer over them, each host's
// connection pools and the cluster's circuit breakers and stats. Membership is immutable
// and swapped atomically; a request picks a host without taking a lock. Outlier
// detection (passive) and active health checks (HTTP, TCP, gRPC) set hosts' health
// flags and rebuild the membership.
// It imports config, connpool, lb, stats and the codecs; never listener, hcm or router.
package upstream
