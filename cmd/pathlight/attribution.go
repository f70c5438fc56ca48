package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/pathlight/pathlight/internal/analytics"
	"github.com/pathlight/pathlight/internal/report"
)

const attributionUsage = `Usage: pathlight attribution --paths FILE.csv [flags]

Runs the attribution models on an aggregated path file in the format of the
ChannelAttribution package (path;total_conversions;total_conversion_value;total_null, channels
separated by >), so that analysts can compare Pathlight with other tools. Time decay needs
touch times, which a path file has not: model=all runs every other model.

Flags:
`

// attributionCmd runs `pathlight attribution`.
func attributionCmd(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("attribution", flag.ContinueOnError)
	fs.SetOutput(stderr)
	paths := fs.String("paths", "", "path file (ChannelAttribution format, ; separated)")
	model := fs.String("model", "all", "all, first_touch, last_touch, last_non_direct, linear, position_based, markov or shapley")
	order := fs.Int("order", 1, "Markov chain order (1 to 8)")
	maxSteps := fs.String("max-steps", "0", "Markov cut-off: 0 solves the chain exactly, a number cuts walks off, package uses the package's default")
	game := fs.String("game", string(report.CountingGame), "Shapley game: counting or conversion_rate")
	transitions := fs.Bool("transitions", false, "list the Markov chain's transition matrix (json)")
	format := fs.String("format", "table", "output: table, json or csv")
	fs.Usage = func() {
		fmt.Fprint(stderr, attributionUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	if *paths == "" || fs.NArg() > 0 {
		fs.Usage()
		return exitError{code: 2, msg: "pathlight attribution: give the path file with --paths"}
	}
	if *order < 1 || *order > report.MaxOrder {
		return exitError{code: 2, msg: fmt.Sprintf("pathlight attribution: --order %d: want a whole number from 1 to %d", *order, report.MaxOrder)}
	}
	ao := report.AttributionOptions{Order: *order, Game: report.Game(*game), Transitions: *transitions}
	n, err := report.ParseMaxSteps(*maxSteps)
	if err != nil {
		return exitError{code: 2, msg: "pathlight attribution: --max-steps " + err.Error()}
	}
	ao.MaxSteps = n
	var models []report.Model
	if *model == "all" {
		for _, m := range analytics.AllModels() {
			if m != report.TimeDecay {
				models = append(models, m)
			}
		}
	} else {
		m, err := report.ParseModel(*model)
		if err != nil {
			return exitError{code: 2, msg: "pathlight attribution: " + err.Error()}
		}
		models = []report.Model{m}
	}
	if *format != "table" && *format != "json" && *format != "csv" {
		return exitError{code: 2, msg: fmt.Sprintf("pathlight attribution: --format %q: want table, json or csv", *format)}
	}

	f, err := os.Open(*paths)
	if err != nil {
		return exitError{code: 1, msg: "pathlight attribution: " + err.Error()}
	}
	defer f.Close()
	t, err := report.ReadPaths(f)
	if err != nil {
		return exitError{code: 1, msg: fmt.Sprintf("pathlight attribution: %s: %v", *paths, err)}
	}
	res := &analytics.AttributionReport{Models: map[string]*report.Attribution{}, Order: *order}
	for _, m := range models {
		o := ao
		o.Model = m
		a, err := report.AttributePaths(t, o)
		if err != nil {
			return exitError{code: 1, msg: "pathlight attribution: " + err.Error()}
		}
		res.Models[string(m)] = a
	}
	switch *format {
	case "json":
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	case "csv":
		return writeCSV(stdout, attributionTables(res)[0])
	}
	conv, value, nulls := t.Totals()
	fmt.Fprintf(stdout, "%s: %s, %s conversions worth %s, %s journeys without conversion\n\n",
		*paths, plural(len(t.Rows), "path", ""), num(conv), money(value), num(nulls))
	return writeTables(stdout, attributionTables(res))
}
