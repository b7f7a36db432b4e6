package routecheck

import (
	"errors"
	"fmt"
	"io"
	"strconv"
)

// Options are the command-line switches of Envoy's router_check_tool.
type Options struct {
	// Details prints every test's name, and the failures of failing tests.
	Details bool
	// OnlyShowFailures prints only failing tests (with their failures).
	OnlyShowFailures bool
	// FailUnder fails the run when coverage is below this percentage (0 disables).
	FailUnder float64
	// CovAll measures coverage by the fraction of each route's fields that were checked,
	// and lists the routes no test covered.
	CovAll bool
	// DetailedCoverage lists, by route name, the routes no test covered.
	DetailedCoverage bool
}

// ErrFailed is returned by Run when a test fails or coverage is too low; the details
// have been printed.
var ErrFailed = errors.New("route check failed")

// Run checks the tests in testPath against the route configuration in configPath and
// prints the report as Envoy's tool does: passing test names to stdout, failing ones and
// their failures to stderr, then, if every test passed, "Current route coverage: N%".
func Run(configPath, testPath string, opts Options, stdout, stderr io.Writer) error {
	rc, err := LoadRouteConfig(configPath)
	if err != nil {
		return err
	}
	tests, err := LoadTests(testPath)
	if err != nil {
		return err
	}
	c, err := NewChecker(rc)
	if err != nil {
		return fmt.Errorf("%s: %w", configPath, err)
	}
	results, err := c.Run(tests)
	if err != nil {
		return fmt.Errorf("%s: %w", testPath, err)
	}
	return c.Report(results, opts, stdout, stderr)
}

// Report prints results and coverage and returns ErrFailed when a test failed or the
// coverage is under opts.FailUnder.
func (c *Checker) Report(results []Result, opts Options, stdout, stderr io.Writer) error {
	failed := 0
	for i := range results {
		r := &results[i]
		if !r.Passed() {
			failed++
		}
		if !(opts.Details && !opts.OnlyShowFailures || opts.OnlyShowFailures && !r.Passed()) {
			continue
		}
		if r.Passed() {
			fmt.Fprintln(stdout, r.Name)
			continue
		}
		fmt.Fprintln(stderr, r.Name)
		for _, f := range r.Failures {
			fmt.Fprintln(stderr, f)
		}
	}
	if failed > 0 {
		return fmt.Errorf("%w: %d of %d tests failed", ErrFailed, failed, len(results))
	}
	pct := c.Coverage(opts, stdout)
	fmt.Fprintf(stdout, "Current route coverage: %s%%\n", formatPercent(pct))
	if opts.FailUnder != 0 && pct < opts.FailUnder {
		fmt.Fprintf(stderr, "Failed to meet coverage requirement: %s%%\n", formatPercent(opts.FailUnder))
		return fmt.Errorf("%w: coverage %s%% is under %s%%", ErrFailed, formatPercent(pct), formatPercent(opts.FailUnder))
	}
	return nil
}

// Coverage returns the route coverage in percent. With CovAll it scores each route by
// the fraction of its fields checked and prints the routes no test covered; with
// DetailedCoverage it prints those routes by name.
func (c *Checker) Coverage(opts Options, w io.Writer) float64 {
	if opts.CovAll || opts.DetailedCoverage {
		for _, line := range c.cov.missing(!opts.CovAll) {
			fmt.Fprintln(w, line)
		}
	}
	return c.cov.percent(opts.CovAll)
}

// formatPercent prints a number as C++'s ostream does by default (six significant
// digits, no trailing zeros).
func formatPercent(v float64) string {
	return strconv.FormatFloat(v, 'g', 6, 64)
}
