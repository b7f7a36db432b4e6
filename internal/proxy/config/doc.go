// Package config loads Envoy v3 config (a Bootstrap from YAML or JSON, or single
// resources from xDS) and checks it: the Envoy schema via protojson and the generated
// Validate methods, and weft's own coverage of it. Each package that implements part of
// Envoy's API declares the fields it handles with Support; Check rejects any other field
// that is set, naming its path and type URL, so nothing is silently ignored.
// It imports no other weft package.
package config
