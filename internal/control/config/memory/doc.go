// Package memory is a config.Store held in memory and changed programmatically (Add,
// Update, Delete), for tests and for embedding weft's control plane in other programs.
// It imports config and nothing from the proxy, xdsgen or ads.
package memory
