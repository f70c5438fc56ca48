package main

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pathlight/pathlight/internal/rules"
	"github.com/pathlight/pathlight/internal/server"
)

// rulesManager loads the rules directory, swaps valid sets into the tracker and keeps the
// errors of an invalid one for GET /api/v1/rules. Reloads come from the directory watcher,
// SIGHUP and POST /api/v1/rules/reload; they are serialised.
type rulesManager struct {
	dir  string
	swap func(*rules.Set)
	log  *slog.Logger
	// sites are the sites the server serves, to warn of rules that serve none of them;
	// nil: no warning.
	sites []string

	mu       sync.Mutex
	status   server.RulesStatus
	print    string // fingerprint of the files last loaded or tried
	loaded   bool   // a rule set is in force
	fromDir  bool   // the set in force was read from the directory (not "no directory yet")
	hadFiles bool   // the set in force came from at least one rule file
}

func newRulesManager(dir string, swap func(*rules.Set), log *slog.Logger) *rulesManager {
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return &rulesManager{dir: abs, swap: swap, log: log}
}

// Reload validates the directory and swaps the new set in. On error the set in force stays
// and the errors are kept for Status.
func (m *rulesManager) Reload() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.reloadLocked()
}

func (m *rulesManager) reloadLocked() error {
	m.print = fingerprint(m.dir)
	set, fromDir, err := m.load()
	now := time.Now().UTC()
	if err != nil {
		m.status.Errors = errorLines(err)
		m.status.FailedAt = now
		m.status.ReloadErrs++
		msg := "rules are invalid; no rule set is loaded"
		if m.loaded {
			msg = "rules are invalid; keeping the previous rule set"
		}
		m.log.Error(msg, "dir", m.dir, "errors", len(m.status.Errors), "first", m.status.Errors[0])
		return err
	}
	m.swap(set)
	m.loaded, m.fromDir, m.hadFiles = true, fromDir, len(set.Files()) > 0
	m.status = server.RulesStatus{
		Version: set.Version(), LoadedAt: now, Files: set.Files(), Dir: m.dir,
		Reloads: m.status.Reloads + 1, ReloadErrs: m.status.ReloadErrs,
	}
	m.log.Info("rules loaded", "dir", m.dir, "version", set.Version(), "files", len(m.status.Files))
	if m.sites != nil {
		for _, w := range unservedSites(set, m.sites) {
			m.log.Warn(w, "dir", m.dir)
		}
	}
	return nil
}

// unservedSites says, for each site that rules of set serve and the server does not,
// that those rules never apply.
func unservedSites(set *rules.Set, served []string) []string {
	var out []string
	for _, site := range set.SitesNotIn(served) {
		out = append(out, fmt.Sprintf("rules serve site %q, which the configuration does not serve (it serves %s): they never apply",
			site, strings.Join(served, ", ")))
	}
	return out
}

// load reads the rule set and says whether it came from the directory. A directory that
// does not exist means no rules as long as no rule set was ever read from it, so a fresh
// install serves defaults until the marketer writes some. Once rules were read, a missing
// directory is an error: it was deleted or renamed (or its volume went away), and dropping
// every rule of a live site is never what that means. So is a directory emptied of rule
// files (an unmounted volume leaves its mount point behind, and a deploy may remove the
// files before copying the new ones): to serve no rules, leave one empty file.
func (m *rulesManager) load() (*rules.Set, bool, error) {
	if _, err := os.Stat(m.dir); errors.Is(err, fs.ErrNotExist) {
		if m.fromDir {
			return nil, false, &rules.LoadError{Errs: []rules.PosError{{File: m.dir,
				Msg: "the rules directory no longer exists (deleted or renamed?); restore it, or point --rules at its new place and restart"}}}
		}
		m.log.Warn("rules directory does not exist; serving defaults only", "dir", m.dir)
		return rules.Empty(), false, nil
	}
	set, err := rules.LoadDir(m.dir)
	if err == nil && len(set.Files()) == 0 && m.hadFiles {
		return nil, false, &rules.LoadError{Errs: []rules.PosError{{File: m.dir,
			Msg: "the rules directory holds no rule files any more; restore them (to serve no rules, leave one empty .yaml file)"}}}
	}
	return set, err == nil, err
}

// Status describes the set in force and the last failed reload.
func (m *rulesManager) Status() server.RulesStatus {
	m.mu.Lock()
	defer m.mu.Unlock()
	st := m.status
	st.Dir = m.dir
	st.Files = append([]string(nil), st.Files...)
	st.Errors = append([]string(nil), st.Errors...)
	return st
}

// watch reloads when the files in the directory change, checking every interval, until ctx
// ends. Polling a fingerprint (names, sizes, modification times) works on every file system
// and needs no dependency; a rules directory has a handful of files.
func (m *rulesManager) watch(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fp := fingerprint(m.dir)
			m.mu.Lock()
			if fp != m.print {
				_ = m.reloadLocked()
			}
			m.mu.Unlock()
		}
	}
}

func fingerprint(dir string) string {
	var lines []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if ext := filepath.Ext(p); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		lines = append(lines, fmt.Sprintf("%s %d %d", p, info.Size(), info.ModTime().UnixNano()))
		return nil
	})
	sort.Strings(lines)
	h := fnv.New64a()
	for _, l := range lines {
		h.Write([]byte(l))
	}
	return fmt.Sprintf("%d:%x", len(lines), h.Sum64())
}

// errorLines splits a load error into one line per mistake.
func errorLines(err error) []string {
	var le *rules.LoadError
	if errors.As(err, &le) {
		out := make([]string, 0, len(le.Errs))
		for _, e := range le.Errs {
			out = append(out, e.Error())
		}
		return out
	}
	return strings.Split(err.Error(), "\n")
}
