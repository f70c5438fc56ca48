package dashboard

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"
)

func TestFS(t *testing.T) {
	tests := []struct {
		file string
		want []string // substrings the file must contain
	}{
		{"index.html", []string{`<script type="module" src="/dashboard/app.js">`, `href="/dashboard/app.css"`}},
		{"login.html", []string{`<form method="post" action="/dashboard/login"`, `name="token"`, `src="/dashboard/login.js"`, "hidden data-login-error"}},
		{"app.js", []string{"/api/v1/reports/", "/dashboard/logout"}},
		{"app.css", []string{"prefers-color-scheme:dark"}},
		{"login.js", []string{"location.hash"}},
		{"favicon.svg", []string{"<svg"}},
		{"licenses.txt", []string{"Apache License"}},
	}
	d := FS()
	for _, tt := range tests {
		b, err := fs.ReadFile(d, tt.file)
		if err != nil {
			t.Errorf("ReadFile(FS(), %q) = %v; want the built file (run npm run build in web/)", tt.file, err)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("%s does not contain %q", tt.file, w)
			}
		}
	}
}

// The server's Content-Security-Policy allows no inline script: the pages must not need one.
func TestPagesHaveNoInlineScript(t *testing.T) {
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|\son[a-z]+\s*=|javascript:`)
	for _, page := range []string{"index.html", "login.html"} {
		b, err := fs.ReadFile(FS(), page)
		if err != nil {
			t.Fatal(err)
		}
		for _, tag := range regexp.MustCompile(`(?is)<script[^>]*>.*?</script>`).FindAllString(string(b), -1) {
			if !strings.Contains(tag, " src=") {
				t.Errorf("%s has an inline script: %s", page, tag)
			}
		}
		if m := inline.FindString(string(b)); m != "" {
			t.Errorf("%s has inline code: %q", page, m)
		}
	}
}
