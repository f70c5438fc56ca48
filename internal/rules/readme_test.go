package rules

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
)

// TestReadmeExamples keeps rules/README.md honest: every ```yaml block loads together with
// the example rules (minus the top-level keys the block defines itself), and every
// ```yaml test block runs as a rule test against the example rules. Blocks marked
// ```yaml fragment are excerpts and are not checked.
func TestReadmeExamples(t *testing.T) {
	root := filepath.Join(repoRoot(t), "rules")
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	example := exampleFS(t)
	blocks := codeBlocks(string(readme))
	if len(blocks) < 10 {
		t.Fatalf("found %d yaml blocks in README.md; want the examples", len(blocks))
	}
	for i, b := range blocks {
		switch b.kind {
		case "fragment":
			continue
		case "test":
			fsys := fstest.MapFS{"r/tests/readme.yaml": {Data: []byte(b.text)}}
			for name, f := range example {
				fsys["r/"+strings.TrimPrefix(name, "rules/")] = f
			}
			r, err := CheckFS(fsys, "r")
			if err != nil {
				t.Errorf("README test block %d (line %d): %v", i, b.line, err)
				continue
			}
			if !r.OK() || r.Cases == 0 {
				t.Errorf("README test block %d (line %d) fails:\n%s", i, b.line, r)
			}
		default:
			// The block alone, or with more and more of the example rules it may refer to,
			// without the keys it defines itself.
			keys := topLevelKeys(b.text)
			var err error
			for n := range len(readmeContext) + 1 {
				fsys := fstest.MapFS{"r/readme.yaml": {Data: []byte(b.text)}}
				for _, name := range readmeContext[:n] {
					fsys["r/"+name] = &fstest.MapFile{Data: []byte(dropKeys(string(example["rules/"+name].Data), keys))}
				}
				if _, err = Load(fsys, "r"); err == nil {
					break
				}
			}
			if err != nil {
				t.Errorf("README yaml block %d (line %d) does not load with the example rules:\n%v\n%s", i, b.line, err, b.text)
			}
		}
	}
}

// readmeContext are the example files a README block may refer to, in the order they are
// added until the block loads.
var readmeContext = []string{"journey.yaml", "segments.yaml", "prompts.yaml", "content.yaml", "experiments.yaml"}

type codeBlock struct {
	kind string // "", "fragment" or "test"
	line int
	text string
}

// codeBlocks returns the ```yaml blocks of a Markdown text.
func codeBlocks(md string) []codeBlock {
	var out []codeBlock
	var cur *codeBlock
	for i, line := range strings.Split(md, "\n") {
		switch {
		case cur == nil && strings.HasPrefix(line, "```yaml"):
			cur = &codeBlock{kind: strings.TrimSpace(strings.TrimPrefix(line, "```yaml")), line: i + 1}
		case cur != nil && strings.HasPrefix(line, "```"):
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			cur.text += line + "\n"
		}
	}
	return out
}

// topLevelKeys returns the keys a YAML text defines at column 0.
func topLevelKeys(text string) map[string]bool {
	keys := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		if line != "" && line[0] != ' ' && line[0] != '#' && line[0] != '-' {
			if k, _, ok := strings.Cut(line, ":"); ok {
				keys[k] = true
			}
		}
	}
	return keys
}

// dropKeys removes the sections of the given top-level keys from a YAML text.
func dropKeys(text string, keys map[string]bool) string {
	var b strings.Builder
	skip := false
	for _, line := range strings.Split(text, "\n") {
		if line != "" && line[0] != ' ' && line[0] != '#' && line[0] != '-' {
			k, _, _ := strings.Cut(line, ":")
			skip = keys[k]
		}
		if !skip {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
