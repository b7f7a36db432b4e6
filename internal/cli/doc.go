// Package cli holds weft's subcommands, one file each. It wires flags to the packages
// that do the work and holds no logic of its own beyond that.
package cli
