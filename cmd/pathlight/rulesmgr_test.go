package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pathlight/pathlight/internal/rules"
)

const goodRules = `slots:
  hero:
    default: {content: "<h1>Hello</h1>"}
`

func TestRulesManagerKeepsPreviousSetOnError(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(file, []byte(goodRules), 0o644); err != nil {
		t.Fatal(err)
	}
	var current atomic.Pointer[rules.Set]
	m := newRulesManager(dir, func(s *rules.Set) { current.Store(s) }, slog.New(slog.DiscardHandler))
	if err := m.Reload(); err != nil {
		t.Fatalf("first load: %v", err)
	}
	first := current.Load()
	st := m.Status()
	if st.Version != first.Version() || len(st.Files) != 1 || st.Reloads != 1 || len(st.Errors) != 0 {
		t.Fatalf("status after load = %+v", st)
	}
	if err := os.WriteFile(file, []byte("slots:\n  hero:\n    defualt: {content: x}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err == nil {
		t.Fatal("reload of an invalid file succeeded")
	}
	if current.Load() != first {
		t.Fatal("an invalid reload replaced the rule set in force")
	}
	st = m.Status()
	if len(st.Errors) == 0 || !strings.Contains(st.Errors[0], "site.yaml:3:") || st.ReloadErrs != 1 || st.FailedAt.IsZero() {
		t.Fatalf("status after a failed reload = %+v; want the file:line error", st)
	}

	// The watcher notices the fix and swaps it in.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { m.watch(ctx, 20*time.Millisecond); close(done) }()
	fixed := strings.Replace(goodRules, "Hello", "Welcome", 1)
	if err := os.WriteFile(file, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for current.Load() == first {
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not reload the fixed rules within 5 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if st := m.Status(); len(st.Errors) != 0 || st.Reloads != 2 {
		t.Fatalf("status after the fix = %+v", st)
	}
	cancel()
	<-done
}

func TestRulesManagerMissingDirServesDefaults(t *testing.T) {
	var current atomic.Pointer[rules.Set]
	m := newRulesManager(filepath.Join(t.TempDir(), "absent"), func(s *rules.Set) { current.Store(s) }, slog.New(slog.DiscardHandler))
	if err := m.Reload(); err != nil || current.Load() == nil {
		t.Fatalf("missing rules dir: %v; want an empty rule set", err)
	}
	if err := m.Reload(); err != nil {
		t.Fatalf("reload while the rules dir is still missing: %v; want the empty set again", err)
	}
}

func TestRulesManagerKeepsSetWhenDirGoes(t *testing.T) {
	for _, tc := range []struct {
		name   string
		remove func(dir string) error
	}{
		{"deleted", os.RemoveAll},
		{"emptied", func(dir string) error { return os.Remove(filepath.Join(dir, "site.yaml")) }},
		{"renamed", func(dir string) error { return os.Rename(dir, dir+".away") }},
		{"replaced by a file", func(dir string) error {
			if err := os.RemoveAll(dir); err != nil {
				return err
			}
			return os.WriteFile(dir, []byte("x"), 0o644)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "rules")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "site.yaml"), []byte(goodRules), 0o644); err != nil {
				t.Fatal(err)
			}
			var current atomic.Pointer[rules.Set]
			m := newRulesManager(dir, func(s *rules.Set) { current.Store(s) }, slog.New(slog.DiscardHandler))
			if err := m.Reload(); err != nil {
				t.Fatalf("first load: %v", err)
			}
			first := current.Load()
			if err := tc.remove(dir); err != nil {
				t.Fatal(err)
			}
			if err := m.Reload(); err == nil {
				t.Fatal("reload without the rules directory succeeded")
			}
			if current.Load() != first {
				t.Fatal("losing the rules directory replaced the rule set in force")
			}
			st := m.Status()
			if len(st.Errors) != 1 || !strings.Contains(st.Errors[0], dir) || st.Version != first.Version() || len(st.Files) != 1 {
				t.Fatalf("status = %+v; want the set in force and an error naming %s", st, dir)
			}
		})
	}
}

func TestRulesManagerLogsWhetherASetIsKept(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(file, []byte("slots: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	m := newRulesManager(dir, func(*rules.Set) {}, slog.New(slog.NewTextHandler(&log, nil)))
	if err := m.Reload(); err == nil {
		t.Fatal("invalid rules loaded")
	}
	if strings.Contains(log.String(), "keeping the previous") || !strings.Contains(log.String(), "no rule set is loaded") {
		t.Fatalf("first failed load logged %q; want no mention of a previous set", log.String())
	}
	if err := os.WriteFile(file, []byte(goodRules), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, []byte("slots: [\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	log.Reset()
	_ = m.Reload()
	if !strings.Contains(log.String(), "keeping the previous rule set") {
		t.Fatalf("failed reload logged %q; want that the previous set is kept", log.String())
	}
}
