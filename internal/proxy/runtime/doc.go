// Package runtime is Envoy's layered runtime for the proxy: the key/value overrides of
// a bootstrap's layered_runtime, read by filters and by the admin /runtime endpoint,
// and changed at run time by /runtime_modify.
//
// A Store is built from an envoy.config.bootstrap.v3.LayeredRuntime. It supports
// static_layer (a Struct flattened to dotted keys, as Envoy's ProtoLayer does) and
// admin_layer (what Modify changes); disk_layer and rtds_layer are errors naming the
// field. Later layers override earlier ones. Values are parsed once, when a layer is
// built, into Envoy's typed views (unsigned integer, double, boolean, fractional
// percent); reads load an immutable snapshot atomically and never lock.
//
// The package imports the Envoy API types and internal/proxy/config (for the Support
// registry). It must not import other weft packages, the control plane, or anything
// that does network I/O.
package runtime
