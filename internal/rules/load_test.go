package rules

import (
	"errors"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite the want.txt files of testdata/bad")

// repoRoot walks up from the package directory to the directory holding go.mod.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the package directory")
		}
		dir = parent
	}
}

// TestLoadBad loads each directory of testdata/bad and compares every error, in order, with
// its want.txt: one "file:line:col: message" per line. Run with -update to rewrite them.
func TestLoadBad(t *testing.T) {
	dirs, err := filepath.Glob("testdata/bad/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures in testdata/bad: %v", err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			_, err := Load(os.DirFS(dir), ".")
			var le *LoadError
			if !errors.As(err, &le) {
				t.Fatalf("Load(%q) error = %v; want a *LoadError", dir, err)
			}
			got := err.Error() + "\n"
			wantFile := filepath.Join(dir, "want.txt")
			if *update {
				if err := os.WriteFile(wantFile, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(wantFile)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("Load(%q) errors:\n%s\nwant:\n%s", dir, got, want)
			}
			if n := strings.Count(got, "\n"); n != len(le.Errs) {
				t.Errorf("Load(%q): %d lines for %d errors", dir, n, len(le.Errs))
			}
		})
	}
}

func TestLoadGood(t *testing.T) {
	dirs, err := filepath.Glob("testdata/good/*")
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no fixtures in testdata/good: %v", err)
	}
	for _, dir := range dirs {
		if _, err := LoadDir(dir); err != nil {
			t.Errorf("LoadDir(%q) = %v; want no error", dir, err)
		}
	}
}

func TestLoadGoodDetails(t *testing.T) {
	s, err := LoadDir("testdata/good/all")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := s.Files(), []string{"journey.yaml", "rules.yml"}; !slices.Equal(got, want) {
		t.Errorf("Files() = %v; want %v", got, want)
	}
	if got, want := s.Stages(), []string{"discover", "evaluate", "buy", "stay"}; !slices.Equal(got, want) {
		t.Errorf("Stages() = %v; want %v", got, want)
	}
	if !s.HasConversions() {
		t.Errorf("HasConversions() = false; want true")
	}
	if got := s.HoldoutFraction(); got != 0.025 {
		t.Errorf("HoldoutFraction() = %v; want 0.025", got)
	}
	xs := s.Experiments()
	if len(xs) != 1 {
		t.Fatalf("Experiments() = %v; want one", xs)
	}
	x := xs[0]
	if x.Slot != "price" || x.Coverage != 0.5 || x.Goal != "paid" || !slices.Equal(x.Weights, []float64{0.25, 0.75}) ||
		x.Start != 1735722000000 || x.Stop != 1767139200000 {
		t.Errorf("Experiments()[0] = %+v; want slot price, coverage 0.5, goal paid, weights [0.25 0.75], start 2025-01-01T09:00Z, stop 2025-12-31", x)
	}
	// An experiment's slot exists even when no slots: entry defines it.
	if got := s.Slots(); !slices.Equal(got, []string{"banner", "empty_slot", "price"}) {
		t.Errorf("Slots() = %v; want [banner empty_slot price]", got)
	}
	fs := s.Funnels()
	if len(fs) != 2 || fs[0].Mode != FunnelStrict || fs[0].Window != 14*dayMS || fs[1].Mode != FunnelUnordered || fs[1].Window != defaultFunnelWindow {
		t.Errorf("Funnels() = %+v; want trial_to_paid strict 2w and any_order unordered 30d", fs)
	}
	surveys := s.Surveys()
	if len(surveys) != 3 || surveys[0].Type != SurveyMultipleChoice || !slices.Equal(surveys[0].Choices, []string{"Reports", "Exports", "API"}) {
		t.Errorf("Surveys() = %+v", surveys)
	}
	wantTriggers := map[string]Trigger{
		"features": {Type: TriggerScroll, Percent: 50},
		"rate":     {Type: TriggerEvent, Event: "docs_done"},
		"text":     {Type: TriggerAfter, Seconds: 90},
		"sales":    {Type: TriggerExitIntent},
	}
	for id, want := range wantTriggers {
		if p := s.prompt(id); p == nil || p.pub.Trigger != want {
			t.Errorf("prompt %q trigger = %+v; want %+v", id, p, want)
		}
	}
	if p := s.prompt("sales"); p.pub.Action == nil || p.pub.Action.URL != "https://example.com/sales" || p.show != (showPolicy{max: 3, cooldown: 12 * 3600 * 1000}) {
		t.Errorf("prompt sales = %+v; want url action, max 3, cooldown 12h", p)
	}
	if p := s.prompt("features"); p.show != (showPolicy{}) {
		t.Errorf("prompt features show = %+v; want always", p.show)
	}
	if p := s.prompt("text"); p.show != (showPolicy{max: 1}) {
		t.Errorf("prompt text show = %+v; want the default, once", p.show)
	}
}

func TestLoadVersion(t *testing.T) {
	a := fstest.MapFS{"r/a.yaml": {Data: []byte("segments: {x: {when: {visitor.known: true}}}\n")}}
	b := fstest.MapFS{"r/a.yaml": {Data: []byte("segments: {x: {when: {visitor.known: false}}}\n")}}
	sa, err := Load(a, "r")
	if err != nil {
		t.Fatal(err)
	}
	sa2, _ := Load(a, "r")
	sb, err := Load(b, "r")
	if err != nil {
		t.Fatal(err)
	}
	if sa.Version() != sa2.Version() || sa.Version() == sb.Version() || len(sa.Version()) != 16 {
		t.Errorf("versions %q, %q, %q: want equal for equal files, different otherwise, 16 hex digits", sa.Version(), sa2.Version(), sb.Version())
	}
}

func TestLoadEmptyAndMissing(t *testing.T) {
	s, err := Load(fstest.MapFS{"r/README.md": {Data: []byte("# rules")}, "r/tests/x.yaml": {Data: []byte("cases: []")}}, "r")
	if err != nil {
		t.Fatalf("Load(empty dir) = %v; want no error", err)
	}
	if s.Version() != Empty().Version() || len(s.Files()) != 0 || len(s.Slots()) != 0 {
		t.Errorf("Load(empty dir) = version %q, files %v; want the Empty set", s.Version(), s.Files())
	}
	_, err = LoadDir("testdata/does-not-exist")
	var le *LoadError
	if !errors.As(err, &le) || len(le.Errs) != 1 || err.Error() != filepath.Join("testdata", "does-not-exist")+": read rules directory: no such file or directory" {
		t.Errorf("LoadDir(missing) = %v; want one LoadError naming the directory", err)
	}
}

func TestPosError(t *testing.T) {
	tests := []struct {
		e    PosError
		want string
	}{
		{PosError{File: "a.yaml", Line: 3, Col: 7, Msg: "boom"}, "a.yaml:3:7: boom"},
		{PosError{File: "a.yaml", Msg: "read: denied"}, "a.yaml: read: denied"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("PosError%+v.Error() = %q; want %q", tt.e, got, tt.want)
		}
	}
	le := &LoadError{Errs: []PosError{tests[0].e, tests[1].e}}
	if got, want := le.Error(), "a.yaml:3:7: boom\na.yaml: read: denied"; got != want {
		t.Errorf("LoadError.Error() = %q; want %q", got, want)
	}
}

// TestExampleRules loads the repository's example rules and runs their rule tests.
func TestExampleRules(t *testing.T) {
	dir := filepath.Join(repoRoot(t), "rules")
	r, err := Check(dir)
	if err != nil {
		t.Fatalf("Check(%q) = %v", dir, err)
	}
	if !r.OK() || r.Cases < 10 || r.Passed != r.Cases {
		t.Errorf("Check(%q):\n%s", dir, r)
	}
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, slot := range []string{"hero", "pricing_offer", "cart_message", "checkout_banner", "home_returning"} {
		if s.slot(slot, "") == nil {
			t.Errorf("example rules lack slot %q, which the demo pages use", slot)
		}
	}
}
