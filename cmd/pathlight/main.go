// Command pathlight is Pathlight's one binary: the tracking and personalization server and
// the tools around it.
//
//	pathlight serve [flags]          run the server
//	pathlight rules check [dir]      validate rules and run their tests
//	pathlight report <name> [flags]  print a report from a data directory or a server
//	pathlight attribution --paths F  run the attribution models on a path file
//	pathlight simulate [flags]       send realistic traffic to a server
//	pathlight version                print the version
//
// Run `pathlight help` or `pathlight <command> --help` for details.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	err := run(os.Args[1:], os.Stdout, os.Stderr, os.Getenv)
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return
	}
	var ee exitError
	if errors.As(err, &ee) {
		if ee.msg != "" {
			fmt.Fprintln(os.Stderr, ee.msg)
		}
		os.Exit(ee.code)
	}
	fmt.Fprintln(os.Stderr, "pathlight:", err)
	os.Exit(1)
}

// exitError ends the program with a code, after printing msg (when not empty) to stderr.
type exitError struct {
	code int
	msg  string
}

// Error implements error.
func (e exitError) Error() string { return e.msg }

const usage = `Pathlight: on-site tracking and personalization at the edge.

Usage:
  pathlight serve [flags]         run the server (pathlight serve --help lists every flag)
  pathlight rules check [dir]     validate the rules in dir (default: the configured --rules) and run dir/tests
  pathlight report <name>         print a report (overview, funnel, attribution …) from a stopped
                                  server's data directory or a running server
  pathlight attribution --paths F run the attribution models on a ChannelAttribution path file
  pathlight simulate              send realistic, reproducible traffic to a running server
  pathlight version               print the version
  pathlight help                  print this help

Flags of serve can also be set as PATHLIGHT_<NAME> environment variables or in a YAML file
given with --config. Documentation: README.md and rules/README.md.
`

// run is the program: it parses args and runs a command, writing to stdout and stderr.
func run(args []string, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitError{code: 2}
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr, getenv)
	case "rules":
		return rulesCmd(args[1:], stdout, stderr)
	case "report":
		return reportCmd(args[1:], stdout, stderr, getenv)
	case "attribution":
		return attributionCmd(args[1:], stdout, stderr)
	case "simulate":
		return simulateCmd(args[1:], stdout, stderr, getenv)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "pathlight", version)
		return nil
	case "help", "--help", "-help", "-h":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return exitError{code: 2, msg: fmt.Sprintf("pathlight: unknown command %q", args[0])}
}
