package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pathlight/pathlight/internal/rules"
)

// TestRulesCheckCmd: the directory comes from the arguments or the configuration as for
// serve, unknown flags are usage errors, and every outcome ends with a summary line.
func TestRulesCheckCmd(t *testing.T) {
	root := t.TempDir()
	good := filepath.Join(root, "good")
	bad := filepath.Join(root, "bad")
	empty := filepath.Join(root, "empty")
	for _, d := range []string{good, bad, empty} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(name, text string) {
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(good, "site.yaml"), goodRules)
	write(filepath.Join(bad, "site.yaml"), "slots:\n  hero:\n    defualt: {content: x}\n")
	cfgFile := filepath.Join(root, "pathlight.yaml")
	write(cfgFile, "rules: "+good+"\n")
	missing := filepath.Join(root, "missing")
	scoped := filepath.Join(root, "scoped")
	if err := os.Mkdir(scoped, 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(scoped, "site.yaml"), "sites: [demo]\n"+goodRules)

	for _, tc := range []struct {
		name    string
		args    []string
		env     map[string]string
		code    int
		out     string // in stdout
		errText string // in the error message
	}{
		{"dir argument", []string{"check", good}, nil, 0, "rules ", ""},
		{"--rules", []string{"check", "--rules", good}, nil, 0, "1 file,", ""},
		{"PATHLIGHT_RULES", []string{"check"}, map[string]string{"PATHLIGHT_RULES": good}, 0, "1 file,", ""},
		{"--config", []string{"check", "--config", cfgFile}, nil, 0, "1 file,", ""},
		{"PATHLIGHT_CONFIG", []string{"check"}, map[string]string{"PATHLIGHT_CONFIG": cfgFile}, 0, "1 file,", ""},
		{"argument beats environment", []string{"check", bad}, map[string]string{"PATHLIGHT_RULES": good}, 1, "", "site.yaml:3:5"},
		{"invalid rules end with a summary", []string{"check", bad}, nil, 1, "", "rules " + bad + ": 1 error; fix it to run the rule tests"},
		{"missing dir names the path", []string{"check", missing}, nil, 1, "", missing + ": read rules directory: no such file or directory"},
		{"configured missing dir", []string{"check"}, map[string]string{"PATHLIGHT_RULES": missing}, 1, "", missing + ": read rules directory"},
		{"empty dir fails", []string{"check", empty}, nil, 1, "", empty + ": no rule files"},
		{"unknown flag", []string{"check", "--bogus"}, nil, 2, "", "flag provided but not defined: -bogus"},
		{"two dirs", []string{"check", good, bad}, nil, 2, "", "give one rules directory"},
		{"help", []string{"check", "--help"}, nil, 0, "Usage: pathlight rules check", ""},
		{"sites the configuration does not serve", []string{"check", scoped}, map[string]string{"PATHLIGHT_SITES": "shop=*"}, 0,
			`warning: rules serve site "demo", which the configuration does not serve (it serves shop): they never apply`, ""},
		{"served sites: no warning", []string{"check", scoped}, map[string]string{"PATHLIGHT_SITES": "demo=*"}, 0, "rules ", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errOut strings.Builder
			err := rulesCheckCmd(tc.args, &out, &errOut, func(k string) string { return tc.env[k] })
			code, msg := 0, ""
			var ee exitError
			if errors.As(err, &ee) {
				code, msg = ee.code, ee.msg
			} else if err != nil {
				t.Fatalf("error %v is not an exitError", err)
			}
			if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(msg, tc.errText) {
				t.Errorf("rules %v: code %d, stdout %q, message %q; want code %d, stdout with %q, message with %q",
					tc.args, code, out.String(), msg, tc.code, tc.out, tc.errText)
			}
			if !strings.Contains(tc.out, "warning") && strings.Contains(out.String(), "warning: ") {
				t.Errorf("rules %v printed %q; want no warning", tc.args, out.String())
			}
			if strings.Contains(msg, "open .") {
				t.Errorf("message %q names the relative path, not the directory", msg)
			}
		})
	}
}

func TestLoadSummaryCounts(t *testing.T) {
	for n, want := range map[int]string{1: "rules r: 1 error; fix it to run the rule tests", 3: "rules r: 3 errors; fix them to run the rule tests"} {
		if got := loadSummary("r/", &rules.LoadError{Errs: make([]rules.PosError, n)}); got != want {
			t.Errorf("loadSummary of %d errors = %q; want %q", n, got, want)
		}
	}
}
