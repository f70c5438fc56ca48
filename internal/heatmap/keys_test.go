package heatmap

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKeyKindsAreTheirOwn holds the heatmap's key kinds to the storage layout of
// docs/architecture.md: each is documented, and no other kind of key starts with the same
// byte (a scan of another kind would read a heatmap key, or the other way round).
func TestKeyKindsAreTheirOwn(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := strings.Index(string(doc), "## Storage layout")
	if start < 0 {
		t.Fatal("docs/architecture.md has no storage layout")
	}
	section := string(doc[start:])
	if end := strings.Index(section[3:], "\n## "); end > 0 {
		section = section[:end+3]
	}
	rows := regexp.MustCompile("(?m)^\\| `(.)` (.*)$").FindAllStringSubmatch(section, -1)
	for _, kind := range []byte{kindTable, kindMark} {
		var uses []string
		for _, r := range rows {
			if r[1] == string(kind) {
				uses = append(uses, strings.TrimSpace(r[2]))
			}
		}
		if len(uses) != 1 || !strings.Contains(uses[0], "heatmap") && !strings.Contains(uses[0], "capture") {
			t.Errorf("key kind %q: %d rows of the storage layout (%q); want exactly the heatmap's one", kind, len(uses), uses)
		}
	}
}
