// Package rulestest loads the example rules of the repository (rules/) for tests of other
// packages, serving the sites a test uses.
package rulestest

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"testing/fstest"

	"github.com/pathlight/pathlight/internal/rules"
)

// fileScope is the top-level sites line of each example rules file.
var fileScope = regexp.MustCompile(`(?m)^sites: \[demo\]$`)

// Example returns the example rules with each file's `sites: [demo]` replaced by sites, so
// that a test can send the demo shop's hits under its own site ids. With no sites, the
// rules serve every site.
func Example(tb testing.TB, sites ...string) *rules.Set {
	tb.Helper()
	dir := filepath.Join(Root(tb), "rules")
	names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil || len(names) == 0 {
		tb.Fatalf("example rules in %s: %v", dir, err)
	}
	scope := ""
	for i, s := range sites {
		if i > 0 {
			scope += ", "
		}
		scope += s
	}
	fsys := fstest.MapFS{}
	for _, n := range names {
		src, err := os.ReadFile(n)
		if err != nil {
			tb.Fatal(err)
		}
		if !fileScope.Match(src) {
			tb.Fatalf("%s has no line `sites: [demo]` to replace", n)
		}
		repl := []byte("sites: [" + scope + "]")
		if len(sites) == 0 {
			repl = nil
		}
		fsys[filepath.Base(n)] = &fstest.MapFile{Data: fileScope.ReplaceAll(src, repl)}
	}
	set, err := rules.Load(fsys, ".")
	if err != nil {
		tb.Fatalf("example rules: %v", err)
	}
	return set
}

// Root returns the repository's root: the nearest directory above the working directory
// that holds go.mod.
func Root(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
