package track

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestKeyKindsAreTheirOwn holds the tracker's key kinds to the storage layout of
// docs/architecture.md: each is documented, by rows of its own (one, or the ownership
// index's two), and no other kind of key starts with the same byte (a scan of another kind
// would read the tracker's keys, or the other way round).
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
	// Each kind, and what its rows say: every row of the kind must say it.
	kinds := map[byte]string{pVisitor: "visitor state", pAlias: "merged", pUser: "linked to the user",
		pDedup: "dedup mark", pSpill: "pushed out", pPack: "spill pack", pEvent: "event-log record",
		pOwner: "of a visitor", pMeta: "metadata"}
	for kind, says := range kinds {
		n := 0
		for _, r := range rows {
			if r[1] != string(kind) {
				continue
			}
			n++
			if !strings.Contains(r[2], says) {
				t.Errorf("key kind %q: a row of the storage layout reads %q; want the tracker's (%q)", kind, r[2], says)
			}
		}
		if n == 0 {
			t.Errorf("key kind %q is not in the storage layout", kind)
		}
	}
}
