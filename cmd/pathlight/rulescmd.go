package main

import (
	"fmt"
	"io"

	"github.com/pathlight/pathlight/internal/rules"
)

const rulesUsage = `Usage: pathlight rules check [dir]

Validates every *.yaml rule file in dir (default ./rules), printing each mistake as
file:line:col: message, then runs the rule tests in dir/tests/*.yaml. Exits 1 when anything
is wrong, so it can guard a deploy or a pull request.
`

func rulesCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprint(stderr, rulesUsage)
		return exitError{code: 2}
	}
	args = args[1:]
	dir := "./rules"
	switch {
	case len(args) == 1 && (args[0] == "-h" || args[0] == "--help"):
		fmt.Fprint(stdout, rulesUsage)
		return nil
	case len(args) == 1:
		dir = args[0]
	case len(args) > 1:
		fmt.Fprint(stderr, rulesUsage)
		return exitError{code: 2}
	}
	rep, err := rules.Check(dir)
	if err != nil {
		return exitError{code: 1, msg: err.Error()}
	}
	fmt.Fprint(stdout, rep.String())
	if !rep.OK() {
		return exitError{code: 1}
	}
	return nil
}
