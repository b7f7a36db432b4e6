// Package archtest holds tests of the code base's own rules: import boundaries between
// the data plane and the rest, and a doc.go in every package. It has no code.
package archtest
