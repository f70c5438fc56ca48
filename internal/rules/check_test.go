package rules

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/pathlight/pathlight/internal/event"
)

const checkRules = `
steps:
  - {id: viewed_pricing, stage: consideration, when: {page.path: /pricing}}
segments:
  paid: {when: {session.channel: Paid Social}}
slots:
  hero:
    default: {content: Hi}
    variants:
      - {id: paid, segment: paid, content: From the ad}
chat:
  help: {message: Help?, when: {page.path: /pricing}}
`

const checkTests = `base_url: https://shop.example
cases:
  - name: passes
    hits:
      - pageview: /?utm_source=facebook&utm_medium=paid_social
    expect: {slots: {hero: paid}, segments: [paid]}

  - name: fails
    visitor: {channel: Organic Search}
    hits:
      - pageview: /pricing
        expect:
          prompts: []
          stage: decision
      - pageview: /
    expect:
      slots: {hero: paid, nope: x}
      segments: [paid]
      steps: {viewed_pricing: 2, unknown: 1}
      conversions: 1
      holdout: true
`

func TestCheckFS(t *testing.T) {
	fsys := fstest.MapFS{
		"r/rules.yaml":      {Data: []byte(checkRules)},
		"r/tests/one.yaml":  {Data: []byte(checkTests)},
		"r/tests/notes.txt": {Data: []byte("not a test")},
	}
	r, err := CheckFS(fsys, "r")
	if err != nil {
		t.Fatal(err)
	}
	if r.Cases != 2 || r.Passed != 1 || r.OK() || len(r.TestFiles) != 1 || r.TestFiles[0] != "tests/one.yaml" {
		t.Errorf("report: %d cases, %d passed, files %v; want 2, 1, [tests/one.yaml]", r.Cases, r.Passed, r.TestFiles)
	}
	want := []string{
		`r/tests/one.yaml:13:11: case "fails", hit 1 (pageview /pricing): prompts = [help]; want []`,
		`r/tests/one.yaml:14:11: case "fails", hit 1 (pageview /pricing): stage = "consideration"; want "decision"`,
		`r/tests/one.yaml:17:15: case "fails", after the last hit: slot hero: variant "default"; want "paid"`,
		`r/tests/one.yaml:17:27: case "fails", after the last hit: slot "nope" is not defined by the rules`,
		`r/tests/one.yaml:18:7: case "fails", after the last hit: segments = []; want [paid]`,
		`r/tests/one.yaml:19:15: case "fails", after the last hit: steps.viewed_pricing.count = 1; want 2`,
		`r/tests/one.yaml:19:34: case "fails", after the last hit: unknown step "unknown"`,
		`r/tests/one.yaml:20:7: case "fails", after the last hit: conversions = 0; want 1`,
		`r/tests/one.yaml:21:7: case "fails", after the last hit: holdout = false; want true`,
	}
	got := make([]string, len(r.Failures))
	for i, f := range r.Failures {
		got[i] = f.Error()
	}
	if len(got) != len(want) {
		t.Fatalf("failures:\n%s\nwant:\n%s", join(got), join(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("failure %d = %s\nwant          %s", i, got[i], want[i])
		}
	}
	if s := r.String(); !strings.HasSuffix(s, ": 1 file, 2 test cases in 1 file: 1 passed, 1 failed\n") {
		t.Errorf("String() = %q; want the summary, with one file said as one", s)
	}
}

func join(lines []string) string {
	out := ""
	for _, l := range lines {
		out += l + "\n"
	}
	return out
}

func TestCheckBadTestFile(t *testing.T) {
	fsys := fstest.MapFS{
		"r/rules.yaml": {Data: []byte(checkRules)},
		"r/tests/bad.yaml": {Data: []byte(`cases:
  - name: bad
    hits:
      - {url: /}
      - {pageview: /, event: x}
      - {pageview: /, at: 1s, wait: 1s}
      - {pageview: /, device: phone, colour: red}
  - hits: []
`)},
	}
	_, err := CheckFS(fsys, "r")
	var le *LoadError
	if !errors.As(err, &le) {
		t.Fatalf("CheckFS = %v; want a *LoadError", err)
	}
	want := `r/tests/bad.yaml:4:9: a hit needs a type: pageview: <url>, event: <name>, identify: <user id>, prompt: <id> or type: …; or only wait: (or at:) to move the clock
r/tests/bad.yaml:5:23: a hit has one type; "event" conflicts with "pageview"
r/tests/bad.yaml:6:9: a hit takes at or wait, not both
r/tests/bad.yaml:7:31: device must be desktop, mobile, tablet or bot, not "phone"
r/tests/bad.yaml:7:38: unknown key "colour" in hit
r/tests/bad.yaml:8:5: test case needs "name"
r/tests/bad.yaml:8:5: test case needs at least one hit`
	if err.Error() != want {
		t.Errorf("CheckFS errors:\n%v\nwant:\n%s", err, want)
	}
}

func TestCheckNoTests(t *testing.T) {
	r, err := CheckFS(fstest.MapFS{"r/rules.yaml": {Data: []byte(checkRules)}}, "r")
	if err != nil || r.Cases != 0 || !r.OK() {
		t.Errorf("CheckFS(no tests) = %+v, %v; want an empty passing report", r, err)
	}
	_, err = CheckFS(fstest.MapFS{"r/rules.yaml": {Data: []byte("steps: 3\n")}}, "r")
	if err == nil || err.Error() != "r/rules.yaml:1:8: steps must be a list, not a number" {
		t.Errorf("CheckFS(bad rules) = %v; want the load error", err)
	}
}

// TestBuildHitEnrichesAsTheServer: rule tests see the page path, source and channel the
// server derives, not an approximation of them.
func TestBuildHitEnrichesAsTheServer(t *testing.T) {
	tests := []struct {
		th                            testHit
		path, source, medium, channel string
	}{
		{testHit{typ: "pageview"}, "/pricing", "(direct)", "(none)", "Direct"},
		{testHit{typ: "pageview", ref: "https://www.google.co.uk/"}, "/pricing", "google", "organic", "Organic Search"},
		{testHit{typ: "pageview", ref: "https://www.youtube.com/watch?v=1"}, "/pricing", "youtube.com", "referral", "Organic Video"},
		{testHit{typ: "pageview", source: "newsletter", medium: "email"}, "/pricing", "newsletter", "email", "Email"},
		{testHit{typ: "pageview", channel: "Affiliates"}, "/pricing", "(direct)", "(none)", "Affiliates"},
		{testHit{typ: "event", name: "add_to_cart", ref: "https://www.google.com/"}, "/pricing", "(direct)", "(none)", "Direct"},
	}
	for _, tt := range tests {
		var ev event.Event
		var h event.Hit
		buildHit(&tt.th, &testHit{}, "https://shop.example/pricing/", "v1", 1, &ev, &h)
		if h.Page.Path != tt.path || h.Source.Source != tt.source || h.Source.Medium != tt.medium || h.Source.Channel != tt.channel {
			t.Errorf("buildHit(%+v): path %q, %s / %s, %s; want %q, %s / %s, %s", tt.th,
				h.Page.Path, h.Source.Source, h.Source.Medium, h.Source.Channel, tt.path, tt.source, tt.medium, tt.channel)
		}
	}
}

// TestCheckDirectoryErrors: a check of a directory that is missing or holds no rule files
// fails with an error naming the directory, never "open .".
func TestCheckDirectoryErrors(t *testing.T) {
	root := t.TempDir()
	empty := filepath.Join(root, "empty")
	if err := os.MkdirAll(filepath.Join(empty, "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(empty, "notes.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(root, "missing")
	for _, tc := range []struct{ dir, want string }{
		{empty, empty + ": no rule files (*.yaml or *.yml) in this directory; give the rules directory, or add a rule file"},
		{missing, missing + ": read rules directory: no such file or directory"},
	} {
		r, err := Check(tc.dir)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Check(%s) = %+v, %v; want %q", tc.dir, r, err, tc.want)
		}
	}
}

// TestCheckAsTheServer: the runner rejects what the server rejects (survey answers that are
// not a choice are not counted), and expectations about unknown ids fail.
func TestCheckAsTheServer(t *testing.T) {
	const rulesYAML = `surveys:
  why: {question: Why?, type: single_choice, choices: [Price, Other], show: always}
experiments:
  trust:
    slot: banner
    variants: [{id: a}, {id: b}]
`
	for _, tc := range []struct {
		name, tests string
		want        []string
	}{
		{"answer not a choice", `cases:
  - name: c
    hits:
      - pageview: /
      - prompt: why
        action: answered
        answer: price
      - pageview: /
        expect: {prompts: [why]}
`, []string{`tests/t.yaml:5:9: case "c", hit 2 (prompt why answered): the server rejects this hit: answer "price" to survey "why" is not one of its choices`}},
		{"a test file saved with a byte order mark", "\ufeff" + `cases:
  - name: c
    hits:
      - pageview: /
`, nil},
		{"answer a choice", `cases:
  - name: c
    hits:
      - pageview: /
      - prompt: why
        action: answered
        answer: Price
      - pageview: /
        expect: {prompts: []}
`, nil},
		{"unknown experiment", `cases:
  - name: c
    hits:
      - pageview: /
        expect: {experiments: {trst: ~}}
`, []string{`tests/t.yaml:5:32: case "c", hit 1 (pageview /): unknown experiment "trst"; did you mean "trust"?`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "tests"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "rules.yaml"), []byte(rulesYAML), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "tests", "t.yaml"), []byte(tc.tests), 0o644); err != nil {
				t.Fatal(err)
			}
			r, err := Check(dir)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, f := range r.Failures {
				got = append(got, strings.TrimPrefix(f.Error(), dir+string(filepath.Separator)))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("failures:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}
