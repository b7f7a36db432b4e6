// Package control is weft's control plane (istiod's role): it watches Istio config and
// the service registry, builds an immutable mesh snapshot, generates Envoy xDS for each
// connected node and serves it over ADS. Sub-packages: config (stores), registry
// (service discovery), mesh (the snapshot and node identity), xdsgen (generators), ads
// (the xDS server). Nothing here is imported by internal/proxy.
package control
