// Package memory is a registry whose services and endpoints are set by its owner: the
// local mesh feeds it from the pods it runs, and tests from fixtures. Changes produce
// ServicesChanged or EndpointsChanged events as a Kubernetes registry would.
// It imports registry and mesh only.
package memory
