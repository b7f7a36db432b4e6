package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:])
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// options are the command-line settings shared by every scenario.
type options struct {
	quick bool
	reps  int
	out   string
	keep  bool
	weft  string
}

func run(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	var o options
	fs.BoolVar(&o.quick, "quick", false, "run for a few seconds with one repetition (CI)")
	fs.IntVar(&o.reps, "reps", 0, "repetitions per measurement (default 3, 1 with --quick)")
	fs.StringVar(&o.out, "out", "", "output directory (default docs/benchmarks in the repository)")
	fs.BoolVar(&o.keep, "keep", false, "keep the work directory with configs and logs")
	fs.StringVar(&o.weft, "weft", "", "benchmark this weft binary instead of building ./cmd/weft")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: go run ./bench <scenario>... [flags]\n\nscenarios:\n")
		for _, s := range scenarios {
			fmt.Fprintf(fs.Output(), "  %-12s %s\n", s.name, s.summary)
		}
		fmt.Fprintf(fs.Output(), "  %-12s every scenario that can run now\n\nflags:\n", "all")
		fs.PrintDefaults()
	}
	// Accept flags before and after the scenario names.
	var names []string
	for rest := args; ; {
		if err := fs.Parse(rest); err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		names = append(names, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	if len(names) == 0 {
		fs.Usage()
		return errors.New("no scenario given")
	}
	sel, err := selectScenarios(names)
	if err != nil {
		return err
	}
	return runScenarios(ctx, o, sel)
}
