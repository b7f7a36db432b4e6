package main

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// A report is what one scenario wrote: docs/benchmarks/<scenario>.md for people and
// <scenario>.json with the same figures for tools (and for the harness's own test).
type report struct {
	Scenario string             `json:"scenario"`
	Title    string             `json:"title"`
	Headline string             `json:"headline"`
	Started  time.Time          `json:"started"`
	Elapsed  string             `json:"elapsed"`
	Quick    bool               `json:"quick"`
	Reps     int                `json:"reps"`
	Machine  machine            `json:"machine"`
	Tools    map[string]string  `json:"tools"`
	Intro    string             `json:"intro"`
	Targets  []targetRow        `json:"targets,omitempty"`
	Sections []section          `json:"sections"`
	Method   []string           `json:"method"`
	Notes    []string           `json:"notes,omitempty"`
	Metrics  map[string]float64 `json:"metrics"`
	Raw      any                `json:"raw,omitempty"`
}

// A targetRow compares a measurement with a target from issue 6.
type targetRow struct {
	Target   string `json:"target"`
	Measured string `json:"measured"`
	Verdict  string `json:"verdict"`
}

type section struct {
	Heading string   `json:"heading"`
	Text    string   `json:"text,omitempty"`
	Table   *table   `json:"table,omitempty"`
	Plots   []string `json:"plots,omitempty"`
}

type table struct {
	Header []string   `json:"header"`
	Rows   [][]string `json:"rows"`
}

func (t *table) add(cells ...string) { t.Rows = append(t.Rows, cells) }

// verdict words a target check: met, or missed by how much.
func verdict(met bool, miss string) string {
	if met {
		return "met"
	}
	return "missed: " + miss
}

func (r *report) write(dir string) error {
	for k, v := range r.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(r.Metrics, k)
		}
	}
	j, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return fmt.Errorf("report %s: %w", r.Scenario, err)
	}
	if err := os.WriteFile(filepath.Join(dir, r.Scenario+".json"), append(j, '\n'), 0o644); err != nil {
		return fmt.Errorf("report %s: %w", r.Scenario, err)
	}
	if err := os.WriteFile(filepath.Join(dir, r.Scenario+".md"), []byte(r.markdown()), 0o644); err != nil {
		return fmt.Errorf("report %s: %w", r.Scenario, err)
	}
	return nil
}

func (r *report) markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s\n\n", r.Title)
	if r.Quick {
		b.WriteString("> **Quick run** (`--quick`): a few seconds per point and one repetition. These figures show that the harness works, not how weft performs.\n\n")
	}
	fmt.Fprintf(&b, "%s\n\n**%s**\n\n", r.Intro, r.Headline)
	fmt.Fprintf(&b, "Run %s UTC, took %s, median of %d repetition(s). Rerun: `go run ./bench %s`.\n\n",
		r.Started.UTC().Format("2006-01-02 15:04"), r.Elapsed, r.Reps, r.Scenario)
	fmt.Fprintf(&b, "- **Machine:** %s\n", r.Machine)
	var tools []string
	for _, k := range sortedKeys(r.Tools) {
		tools = append(tools, fmt.Sprintf("%s `%s`", k, r.Tools[k]))
	}
	fmt.Fprintf(&b, "- **Tools:** %s\n\n", strings.Join(tools, "; "))
	if len(r.Targets) > 0 {
		t := table{Header: []string{"target (issue 6)", "measured", "verdict"}}
		for _, tr := range r.Targets {
			t.add(tr.Target, tr.Measured, tr.Verdict)
		}
		b.WriteString("## Targets\n\n" + t.markdown() + "\n")
	}
	for _, s := range r.Sections {
		fmt.Fprintf(&b, "## %s\n\n", s.Heading)
		if s.Text != "" {
			b.WriteString(s.Text + "\n\n")
		}
		if s.Table != nil {
			b.WriteString(s.Table.markdown() + "\n")
		}
		for _, p := range s.Plots {
			fmt.Fprintf(&b, "![%s](%s)\n\n", strings.TrimSuffix(p, ".png"), p)
		}
	}
	b.WriteString("## Method\n\n")
	for _, m := range r.Method {
		b.WriteString("- " + m + "\n")
	}
	if len(r.Notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range r.Notes {
			b.WriteString("- " + n + "\n")
		}
	}
	fmt.Fprintf(&b, "\nThe raw figures are in [%s.json](%s.json).\n", r.Scenario, r.Scenario)
	return b.String()
}

func (t *table) markdown() string {
	var b strings.Builder
	b.WriteString("| " + strings.Join(t.Header, " | ") + " |\n|")
	for range t.Header {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range t.Rows {
		b.WriteString("| " + strings.Join(r, " | ") + " |\n")
	}
	return b.String()
}

// Number formats for tables.
func ms(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.3f", v)
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%.0f", v)
}

func ratio(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%.2f", v)
}

func mib(bytes float64) string {
	if math.IsNaN(bytes) {
		return "n/a"
	}
	return fmt.Sprintf("%.1f", bytes/(1<<20))
}

func signedMs(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return fmt.Sprintf("%+.3f", v)
}
