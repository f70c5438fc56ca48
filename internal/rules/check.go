package rules

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/pathlight/pathlight/internal/event"
	"github.com/pathlight/pathlight/internal/journey"
)

// CheckReport is the outcome of `pathlight rules check`: the rule set loaded, and its rule
// tests ran.
type CheckReport struct {
	Version   string     `json:"version"`
	Files     []string   `json:"files"`      // rule files
	TestFiles []string   `json:"test_files"` // test files, relative to the rules directory
	Cases     int        `json:"cases"`
	Passed    int        `json:"passed"`
	Failures  []PosError `json:"failures,omitempty"` // one per unmet expectation
}

// OK reports whether every case passed.
func (r *CheckReport) OK() bool { return len(r.Failures) == 0 }

// String renders the report for a terminal: every failure as file:line:col: message, then
// a summary line.
func (r *CheckReport) String() string {
	var b strings.Builder
	for _, f := range r.Failures {
		b.WriteString(f.Error())
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "rules %s: %s, %s in %s: %d passed, %d failed\n",
		r.Version, count(len(r.Files), "file"), count(r.Cases, "test case"), count(len(r.TestFiles), "file"), r.Passed, r.Cases-r.Passed)
	return b.String()
}

// count says how many of a thing: "1 file", "2 files".
func count(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// Check loads the rule set in dir and runs the rule tests in dir/tests/*.yaml. A rule set or
// test file that does not load is an error (a *LoadError listing every mistake); failed
// expectations are in the report, each at the line of the expectation.
func Check(dir string) (*CheckReport, error) {
	return check(os.DirFS(dir), ".", func(name string) string { return filepath.Join(dir, name) })
}

// CheckFS is Check over a file system.
func CheckFS(fsys fs.FS, dir string) (*CheckReport, error) {
	return check(fsys, dir, func(name string) string { return path.Join(dir, name) })
}

func check(fsys fs.FS, dir string, display func(string) string) (*CheckReport, error) {
	set, err := load(fsys, dir, display)
	if err != nil {
		return nil, err
	}
	if len(set.Files()) == 0 {
		// The server accepts an empty directory (a fresh install), but a check of one is
		// almost always a check of the wrong directory, and must not pass a deploy.
		return nil, &LoadError{Errs: []PosError{{File: display(""),
			Msg: "no rule files (*.yaml or *.yml) in this directory; give the rules directory, or add a rule file"}}}
	}
	r := &CheckReport{Version: set.Version(), Files: set.Files()}
	testDir := path.Join(dir, "tests")
	names, err := ruleFiles(fsys, testDir)
	if err != nil {
		if isNotExist(err) {
			return r, nil
		}
		return nil, &LoadError{Errs: []PosError{{File: display("tests"), Msg: "read test directory: " + pathErrorText(err)}}}
	}
	var files []*testFile
	var errs []PosError
	for _, n := range names {
		rel := path.Join("tests", n)
		src, err := readFile(fsys, path.Join(testDir, n))
		if err != nil {
			errs = append(errs, PosError{File: display(rel), Msg: fmt.Sprintf("read: %v", err)})
			continue
		}
		tf, perrs := parseTestFile(display(rel), bytes.TrimPrefix(src, utf8BOM))
		errs = append(errs, perrs...)
		if tf != nil {
			files = append(files, tf)
		}
		r.TestFiles = append(r.TestFiles, rel)
	}
	if len(errs) > 0 {
		sortErrors(errs)
		return nil, &LoadError{Errs: errs}
	}
	for _, tf := range files {
		for _, tc := range tf.cases {
			r.Cases++
			fails := runCase(set, tf, tc)
			if len(fails) == 0 {
				r.Passed++
			}
			r.Failures = append(r.Failures, fails...)
		}
	}
	return r, nil
}

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// defaultGap is the time between two test hits when the second says neither at nor wait.
const defaultGap = 10_000

// runCase replays a case's hits as the server would (journey.Apply, Observe, Decide) and
// checks its expectations.
func runCase(set *Set, tf *testFile, tc *testCase) []PosError {
	var (
		st      journey.State
		as      AutoState
		before  Before
		fires   []Fire
		d       Decisions
		ev      event.Event
		h       event.Hit
		fails   []PosError
		prev    = tc.start
		pageURL = resolveURL(tf.baseURL, "/")
	)
	for i, th := range tc.hits {
		at := prev + defaultGap
		switch {
		case i == 0 && th.offset < 0 && th.wait < 0:
			at = tc.start
		case th.offset >= 0:
			at = tc.start + th.offset
		case th.wait >= 0:
			at = prev + th.wait
		}
		prev = at
		if th.url != "" {
			pageURL = resolveURL(tf.baseURL, th.url)
		}
		consent := cmp.Or(th.consent, tc.visitor.consent) != "denied"
		// Timers fall due as the clock moves, before the hit that moves it is applied.
		fires = fires[:0]
		if consent {
			fires = set.AutoDue(&st, &as, at, fires)
		}
		if th.typ == "" {
			// A hit that only moves the clock: timers fire, nothing else happens.
			label := fmt.Sprintf("case %q, hit %d (wait)", tc.name, i+1)
			d.Reset()
			site := cmp.Or(tc.site, tf.site)
			fails = append(fails, compare(set, th.expect, label, site, &st, &d, fires)...)
			if i == len(tc.hits)-1 {
				fails = append(fails, compare(set, tc.expect, fmt.Sprintf("case %q, after the last hit", tc.name), site, &st, &d, fires)...)
			}
			continue
		}
		buildHit(th, &tc.visitor, pageURL, tc.vid, at, &ev, &h)
		h.Site = cmp.Or(tc.site, tf.site)
		label := fmt.Sprintf("case %q, hit %d (%s)", tc.name, i+1, hitLabel(th, &h))
		if err := rejected(set, &h); err != nil {
			// The server rejects the event and does not apply it: neither does the test.
			fails = append(fails, PosError{File: th.at.file, Line: th.at.line, Col: th.at.col,
				Msg: label + ": the server rejects this hit: " + err.Error()})
		} else {
			set.AutoBefore(&st, &before)
			journey.Apply(&st, &h, journey.Options{DefaultConversion: set.DefaultConversion(h.Site)})
			set.Observe(&st, &h)
			if consent && !h.Device.Bot {
				fires = set.Automate(&before, &st, &h, &as, fires)
			}
		}

		last := i == len(tc.hits)-1
		slots := slices.Clone(th.slots)
		slots = appendExpectedSlots(slots, th.expect)
		if last {
			slots = appendExpectedSlots(slots, tc.expect)
		}
		req := Request{Slots: slots, Now: at,
			DefaultsOnly: h.Device.Bot || cmp.Or(th.consent, tc.visitor.consent) == "denied"}
		set.decideHoldout(&st, &h, req, &d, tc.holdout)

		fails = append(fails, compare(set, th.expect, label, h.Site, &st, &d, fires)...)
		if last {
			fails = append(fails, compare(set, tc.expect, fmt.Sprintf("case %q, after the last hit", tc.name), h.Site, &st, &d, fires)...)
		}
	}
	sortErrors(fails)
	return fails
}

// rejected returns why the server would reject the hit's event, or nil: the checks the
// tracker makes before it applies an event, with the same functions.
func rejected(set *Set, h *event.Hit) error {
	if e := h.Event; e.Type == event.TypePrompt && e.Action == event.ActionAnswered {
		return set.CheckAnswer(h.Site, e.Prompt, e.Answer)
	}
	return nil
}

func appendExpectedSlots(slots []string, x *expectation) []string {
	if x == nil {
		return slots
	}
	for _, s := range x.slots {
		if !slices.Contains(slots, s.slot) {
			slots = append(slots, s.slot)
		}
	}
	return slots
}

func hitLabel(th *testHit, h *event.Hit) string {
	switch th.typ {
	case "pageview":
		return "pageview " + h.Page.Path
	case "event":
		return "event " + th.name
	case "prompt":
		return "prompt " + th.prompt + " " + th.action
	}
	return th.typ
}

// compare checks one expectation against the state and decisions after a hit.
func compare(set *Set, x *expectation, label, site string, st *journey.State, d *Decisions, fires []Fire) []PosError {
	if x == nil {
		return nil
	}
	var fails []PosError
	fail := func(p pos, format string, args ...any) {
		fails = append(fails, PosError{File: p.file, Line: p.line, Col: p.col, Msg: label + ": " + fmt.Sprintf(format, args...)})
	}
	if x.stage != nil && st.Stage != *x.stage {
		fail(x.stageAt, "stage = %q; want %q", st.Stage, *x.stage)
	}
	if x.hasSegs {
		got := slices.Sorted(slices.Values(st.Segments))
		want := slices.Sorted(slices.Values(x.segments))
		if !slices.Equal(got, want) {
			fail(x.segsAt, "segments = %s; want %s", list(got), list(want))
		}
	}
	for _, sc := range x.steps {
		if _, ok := set.stepIndex[sc.id]; !ok {
			fail(sc.at, "unknown step %q", sc.id)
			continue
		}
		if n := st.Step(sc.id).N; int64(n) != sc.count {
			fail(sc.at, "steps.%s.count = %d; want %d", sc.id, n, sc.count)
		}
	}
	for _, es := range x.slots {
		sd, ok := d.Slot(es.slot)
		if !ok {
			if _, defined := set.slotIndex[es.slot]; defined {
				fail(es.at, "slot %q serves other sites, not %s", es.slot, site)
			} else {
				fail(es.at, "slot %q is not defined by the rules", es.slot)
			}
			continue
		}
		if es.variant != nil && sd.Variant != *es.variant {
			fail(es.at, "slot %s: variant %q; want %q", es.slot, sd.Variant, *es.variant)
		}
		if es.content != nil && sd.Content != *es.content {
			fail(es.at, "slot %s: content %q; want %q", es.slot, sd.Content, *es.content)
		}
		if es.experiment != nil && sd.Experiment != *es.experiment {
			fail(es.at, "slot %s: experiment %q; want %q", es.slot, sd.Experiment, *es.experiment)
		}
	}
	if x.hasPrompts {
		got := make([]string, len(d.Prompts))
		for i, p := range d.Prompts {
			got[i] = p.ID
		}
		if !slices.Equal(got, x.prompts) {
			fail(x.promptsAt, "prompts = %s; want %s", list(got), list(x.prompts))
		}
	}
	if x.hasAutos {
		got := make([]string, len(fires))
		for i, f := range fires {
			got[i] = f.Automation
		}
		for _, id := range x.automations {
			if set.automation(id) == nil {
				ids := make([]string, len(set.autos))
				for i, a := range set.autos {
					ids[i] = a.info.ID
				}
				fail(x.autosAt, "unknown automation %q%s", id, suggest(id, ids))
			}
		}
		if !slices.Equal(got, x.automations) {
			fail(x.autosAt, "automations fired = %s; want %s", list(got), list(x.automations))
		}
	}
	if x.holdout != nil && d.Holdout != *x.holdout {
		fail(x.holdoutAt, "holdout = %t; want %t", d.Holdout, *x.holdout)
	}
	if x.conversions != nil && int64(st.Conversions) != *x.conversions {
		fail(x.convAt, "conversions = %d; want %d", st.Conversions, *x.conversions)
	}
	if x.value != nil && st.Value != *x.value {
		fail(x.valueAt, "value = %s; want %s", strconv.FormatFloat(st.Value, 'f', -1, 64), strconv.FormatFloat(*x.value, 'f', -1, 64))
	}
	for _, ex := range x.experiments {
		if !slices.ContainsFunc(set.exps, func(e *experiment) bool { return e.info.ID == ex.slot }) {
			ids := make([]string, len(set.exps))
			for i, e := range set.exps {
				ids[i] = e.info.ID
			}
			fail(ex.at, "unknown experiment %q%s", ex.slot, suggest(ex.slot, ids))
			continue
		}
		got := ""
		if a := st.Assignment(ex.slot); a != nil {
			got = a.Variant
		}
		if got != *ex.variant {
			fail(ex.at, "experiment %s: assigned %q; want %q", ex.slot, got, *ex.variant)
		}
	}
	return fails
}

// list renders ids as [a, b].
func list(ids []string) string { return "[" + strings.Join(ids, ", ") + "]" }
