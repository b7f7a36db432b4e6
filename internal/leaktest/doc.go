// Package leaktest fails a test package whose tests leave goroutines behind: servers,
// informers, watchers and writers that should have stopped with the test. A package
// calls Main from its TestMain.
package leaktest
