package main

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/rules"
)

// aliasBomb is a billion-laughs rules file: nine levels of ten aliases each, 10⁹ values
// once expanded, in under 1 KB. The condition that holds it is decoded into a tree, so
// without a bound it takes all the memory there is.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("segments:\n  laughs:\n    when:\n      a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < 9; i++ {
		n, p := strconv.Itoa(i), strconv.Itoa(i-1)
		b.WriteString("      a" + n + ": &a" + n + " [" + strings.TrimSuffix(strings.Repeat("*a"+p+", ", 10), ", ") + "]\n")
	}
	return b.String()
}

// boundCases are files beyond the bounds of a rules file, and the position and message
// their error must give.
func boundCases() []struct{ name, src, want string } {
	deep := "segments:\n  deep:\n    when: {x: " + strings.Repeat("[", 100_000) + strings.Repeat("]", 100_000) + "}\n"
	return []struct{ name, src, want string }{
		// 10 + 100 + 1,000 + 10,000 + 100,000 values fit; the second alias of line 9 crosses.
		{"bomb.yaml", aliasBomb(), "bomb.yaml:9:21: the file stands for more than 250000 values once its aliases are expanded"},
		{"deep.yaml", deep, "deep.yaml:3:75: nested more than 64 levels deep"},
		{"huge.yaml", "slots:\n  hero:\n    default: {content: \"" + strings.Repeat("x", 1<<20) + "\"}\n", "huge.yaml: read: the file is larger than 1 MiB"},
	}
}

// TestRulesCheckBoundsFiles: `rules check` answers an alias bomb, a file nested too deep
// and a file too large with a file:line error instead of running out of memory.
func TestRulesCheckBoundsFiles(t *testing.T) {
	if len(aliasBomb()) > 1024 {
		t.Fatalf("the alias bomb is %d bytes; the attack fits in 1 KB", len(aliasBomb()))
	}
	for _, tc := range boundCases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.name), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			var out, errOut strings.Builder
			err := rulesCheckCmd([]string{"check", dir}, &out, &errOut, func(string) string { return "" })
			var ee exitError
			if !errors.As(err, &ee) || ee.code != 1 {
				t.Fatalf("rules check: %v; want exit code 1", err)
			}
			if want := filepath.Join(dir, tc.want); !strings.Contains(ee.msg, want) {
				t.Fatalf("rules check: %q; want %q", ee.msg, want)
			}
		})
	}
}

// TestRulesManagerKeepsRulesOnAliasBomb: a file beyond the bounds dropped into the rules
// directory of a running server is refused at its line on the automatic reload, and the
// rules in force keep serving.
func TestRulesManagerKeepsRulesOnAliasBomb(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(goodRules), 0o644); err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[rules.Set]
	m := newRulesManager(dir, func(s *rules.Set) { current.Store(s) }, slog.New(slog.DiscardHandler))
	if err := m.Reload(); err != nil {
		t.Fatalf("first load: %v", err)
	}
	first := current.Load()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { m.watch(ctx, 20*time.Millisecond); close(done) }()
	defer func() { cancel(); <-done }()

	for i, tc := range boundCases() {
		// Written under another name and renamed, so that the watcher never sees a part of
		// the file (an empty file is a valid rules file).
		file, tmp := filepath.Join(dir, tc.name), filepath.Join(dir, tc.name+".part")
		if err := os.WriteFile(tmp, []byte(tc.src), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, file); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(10 * time.Second)
		for m.Status().ReloadErrs < uint64(i+1) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the watcher did not try the new file within 10 s", tc.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
		st := m.Status()
		if current.Load().Version() != first.Version() {
			t.Fatalf("%s: the reload replaced the rule set in force", tc.name)
		}
		if want := filepath.Join(dir, tc.want); len(st.Errors) != 1 || !strings.HasPrefix(st.Errors[0], want) {
			t.Fatalf("%s: status errors %q; want [%q]", tc.name, st.Errors, want)
		}
		if err := os.Remove(file); err != nil {
			t.Fatal(err)
		}
		// The file gone, the same rules load again.
		for m.Status().Reloads < uint64(i+2) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the watcher did not reload after the file was removed", tc.name)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
}
