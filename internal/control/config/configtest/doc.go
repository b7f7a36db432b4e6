// Package configtest holds Istio config samples for tests: objects that validation
// must reject, each breaking one rule, and objects it must accept. The config
// package's golden test, the validating webhook's tests and weft analyze's tests
// share them. Only tests import it; it imports nothing.
package configtest
