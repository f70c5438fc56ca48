package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pathlight/pathlight/internal/config"
	"github.com/pathlight/pathlight/internal/rules"
)

const rulesUsage = `Usage: pathlight rules check [--config file] [--rules dir | dir]

Validates every *.yaml rule file in the rules directory, printing each mistake as
file:line:col: message, then runs the rule tests in its tests/*.yaml and prints a summary.
Exits 1 when anything is wrong (a directory without rule files included), so it can guard a
deploy or a pull request.

The directory is dir (or --rules dir) when given, else the one pathlight serve would use:
PATHLIGHT_RULES, the rules key of the --config file (or PATHLIGHT_CONFIG), else ./rules.

With a configuration (--config, PATHLIGHT_CONFIG or PATHLIGHT_SITES), a rule that serves a
site the configuration does not serve gets a warning, as it would never apply.
`

// rulesCmd runs `pathlight rules`, reading the environment for the configured directory.
func rulesCmd(args []string, stdout, stderr io.Writer) error {
	return rulesCheckCmd(args, stdout, stderr, os.Getenv)
}

func rulesCheckCmd(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(stderr, rulesUsage)
		return exitError{code: 2}
	}
	fs := flag.NewFlagSet("rules check", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	configPath := fs.String("config", "", "")
	rulesFlag := fs.String("rules", "", "")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(stdout, rulesUsage)
			return nil
		}
		fmt.Fprint(stderr, rulesUsage)
		return exitError{code: 2, msg: "pathlight rules check: " + err.Error()}
	}
	dir := *rulesFlag
	if fs.NArg() > 1 || fs.NArg() == 1 && dir != "" {
		fmt.Fprint(stderr, rulesUsage)
		return exitError{code: 2, msg: "pathlight rules check: give one rules directory"}
	}
	if fs.NArg() == 1 {
		dir = fs.Arg(0)
	}
	// The configuration gives the directory when no argument does, and the sites the rules'
	// scopes are checked against when it is named.
	configured := *configPath != "" || getenv("PATHLIGHT_CONFIG") != "" || getenv("PATHLIGHT_SITES") != ""
	var served []string
	if dir == "" || configured {
		var cargs []string
		if *configPath != "" {
			cargs = []string{"--config", *configPath}
		}
		cfg, err := config.Load(cargs, getenv)
		if err != nil {
			return exitError{code: 2, msg: "pathlight rules check: invalid configuration:\n" + indent(err.Error())}
		}
		if dir == "" {
			dir = cfg.Rules
		}
		if configured {
			for _, s := range cfg.Sites {
				served = append(served, s.ID)
			}
		}
	}
	rep, err := rules.Check(dir)
	if err != nil {
		return exitError{code: 1, msg: err.Error() + "\n" + loadSummary(dir, err)}
	}
	if served != nil {
		if set, err := rules.LoadDir(dir); err == nil {
			for _, w := range unservedSites(set, served) {
				fmt.Fprintln(stdout, "warning: "+w)
			}
		}
	}
	fmt.Fprint(stdout, rep.String())
	if !rep.OK() {
		return exitError{code: 1}
	}
	return nil
}

// loadSummary is the summary line of a check whose rules or tests did not load.
func loadSummary(dir string, err error) string {
	n := 1
	var le *rules.LoadError
	if errors.As(err, &le) {
		n = len(le.Errs)
	}
	noun, them := "errors", "them"
	if n == 1 {
		noun, them = "error", "it"
	}
	return fmt.Sprintf("rules %s: %d %s; fix %s to run the rule tests", strings.TrimSuffix(dir, "/"), n, noun, them)
}
