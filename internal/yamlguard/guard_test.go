package yamlguard

import (
	"errors"
	"strings"
	"testing"

	"github.com/goccy/go-yaml/ast"
)

var testLimits = Limits{MaxBytes: 1 << 20, MaxDepth: 64, MaxNodes: 100_000, MaxScalarBytes: 1 << 20}

// laughs returns a billion-laughs file: each level an anchored list of ten aliases of the
// level before, levels deep, under key; it is under 1 KB for 9 levels.
func laughs(levels int) string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i < levels; i++ {
		b.WriteString("a" + itoa(i) + ": &a" + itoa(i) + " [")
		for j := range 10 {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + itoa(i-1))
		}
		b.WriteString("]\n")
	}
	return b.String()
}

func itoa(i int) string {
	if i < 10 {
		return string(rune('0' + i))
	}
	return itoa(i/10) + itoa(i%10)
}

func boundErr(t *testing.T, src string) *Error {
	t.Helper()
	_, err := Parse([]byte(src), testLimits)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse: %v; want a bound error", err)
	}
	if e.Syntax {
		t.Fatalf("Parse: syntax error %v; want a bound error", err)
	}
	return e
}

func TestBillionLaughs(t *testing.T) {
	src := laughs(9)
	if len(src) > 1024 {
		t.Fatalf("the file is %d bytes; the attack fits in 1 KB", len(src))
	}
	e := boundErr(t, src)
	// 10 + 100 + 1,000 + 10,000 values fit; the level of 100,000 crosses on line 5.
	if e.Line != 5 || !strings.Contains(e.Msg, "100000 values") {
		t.Fatalf("error %q at line %d; want the values bound at line 5", e.Msg, e.Line)
	}
}

func TestLongStringAliased(t *testing.T) {
	var b strings.Builder
	b.WriteString("s: &s " + strings.Repeat("x", 100_000) + "\nl:\n")
	for range 20 {
		b.WriteString("  - *s\n")
	}
	e := boundErr(t, b.String())
	if !strings.Contains(e.Msg, "1 MiB of text") || e.Line < 3 {
		t.Fatalf("error %q at line %d; want the text bound at an alias", e.Msg, e.Line)
	}
}

func TestDeepFlow(t *testing.T) {
	src := "k: " + strings.Repeat("[", 200_000) + strings.Repeat("]", 200_000) + "\n"
	e := boundErr(t, src)
	if e.Line != 1 || e.Col != 4+63 || !strings.Contains(e.Msg, "64 levels") {
		t.Fatalf("error %q at %d:%d; want the depth bound at 1:67", e.Msg, e.Line, e.Col)
	}
}

func TestDeepBlock(t *testing.T) {
	var b strings.Builder
	for i := range 100 {
		b.WriteString(strings.Repeat(" ", i) + "k" + itoa(i) + ":\n")
	}
	e := boundErr(t, b.String())
	if e.Line != 65 || !strings.Contains(e.Msg, "64 levels") {
		t.Fatalf("error %q at line %d; want the depth bound at line 65", e.Msg, e.Line)
	}
	// Compact lists nest on one line.
	e = boundErr(t, strings.Repeat("- ", 100)+"x\n")
	if e.Line != 1 || e.Col != 129 {
		t.Fatalf("error %q at %d:%d; want the depth bound at 1:129", e.Msg, e.Line, e.Col)
	}
}

func TestDeepThroughAliases(t *testing.T) {
	// Each anchor is 30 levels deep, and the next nests the one before inside its own 30.
	var b strings.Builder
	b.WriteString("a: &a " + strings.Repeat("[", 30) + "x" + strings.Repeat("]", 30) + "\n")
	b.WriteString("b: &b " + strings.Repeat("[", 30) + "*a" + strings.Repeat("]", 30) + "\n")
	b.WriteString("c: &c " + strings.Repeat("[", 30) + "*b" + strings.Repeat("]", 30) + "\n")
	e := boundErr(t, b.String())
	if e.Line != 3 || !strings.Contains(e.Msg, "aliases are expanded") {
		t.Fatalf("error %q at line %d; want the expanded depth bound at line 3", e.Msg, e.Line)
	}
}

func TestTooLarge(t *testing.T) {
	e := boundErr(t, "k: "+strings.Repeat("x", 1<<20)+"\n")
	if e.Line != 0 || e.Msg != "the file is 1048580 bytes; at most 1 MiB is allowed" {
		t.Fatalf("error %q at line %d", e.Msg, e.Line)
	}
}

func TestSyntaxError(t *testing.T) {
	_, err := Parse([]byte("k: [1, 2\n"), testLimits)
	var e *Error
	if !errors.As(err, &e) || !e.Syntax || e.Err == nil {
		t.Fatalf("Parse: %v; want a syntax error wrapping the parser's", err)
	}
}

// aliasTargets parses src and returns the text each alias refers to, by alias name in order.
func aliasTargets(t *testing.T, src string) []string {
	t.Helper()
	d, err := Parse([]byte(src), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var visit func(n ast.Node)
	visit = func(n ast.Node) {
		switch v := n.(type) {
		case *ast.AliasNode:
			if tg, ok := d.Aliases[v]; ok {
				out = append(out, v.Value.GetToken().Value+"="+tg.String())
			} else {
				out = append(out, v.Value.GetToken().Value+"=?")
			}
		case *ast.MappingNode:
			for _, x := range v.Values {
				visit(x)
			}
		case *ast.MappingValueNode:
			visit(v.Key)
			visit(v.Value)
		case *ast.SequenceNode:
			for _, x := range v.Values {
				visit(x)
			}
		case *ast.AnchorNode:
			visit(v.Value)
		}
	}
	for _, doc := range d.File.Docs {
		visit(doc.Body)
	}
	return out
}

func TestAliasesReferToEarlierAnchors(t *testing.T) {
	got := aliasTargets(t, "a: *x\nb: &x one\nc: *x\nd: &x two\ne: *x\nf: &y [*y]\n")
	want := []string{"x=?", "x=one", "x=two", "y=?"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("aliases resolve to %v; want %v (later and enclosing anchors are unknown, the latest earlier one wins)", got, want)
	}
}

func TestOrdinaryFile(t *testing.T) {
	src := laughs(3) + "m:\n  k: &k {a: 1, b: [x, y]}\n  l: *k\n"
	if _, err := Parse([]byte(src), testLimits); err != nil {
		t.Fatal(err)
	}
}

// FuzzParse: any input is parsed within the limits or refused, never a panic, and a file
// that passes stands for no more than the limits allow.
func FuzzParse(f *testing.F) {
	f.Add([]byte(laughs(9)))
	f.Add([]byte("a: &a {b: [1, *a]}\nc: *a\n"))
	f.Add([]byte("- - - [[{x: y}]]\n"))
	f.Fuzz(func(t *testing.T, src []byte) {
		d, err := Parse(src, Limits{MaxBytes: 1 << 16, MaxDepth: 16, MaxNodes: 1000, MaxScalarBytes: 1 << 16})
		if err != nil {
			return
		}
		w := &walker{l: Limits{MaxBytes: 1 << 30, MaxDepth: 1 << 30, MaxNodes: 1 << 30, MaxScalarBytes: 1 << 30},
			anchors: map[string]ast.Node{}, memo: map[ast.Node]cost{}, aliases: map[*ast.AliasNode]ast.Node{}}
		for _, doc := range d.File.Docs {
			clear(w.anchors)
			if doc.Body != nil {
				w.walk(doc.Body, 0)
			}
		}
		if w.total.nodes > 1000 {
			t.Fatalf("a file within the limits stands for %d values", w.total.nodes)
		}
	})
}

func TestAliasOfAnEmptyAnchor(t *testing.T) {
	d, err := Parse([]byte("a: &x\nb: *x\n"), testLimits)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for a, target := range d.Aliases {
		n++
		if a.Value.GetToken().Value != "x" || (target != nil && target.Type() != ast.NullType) {
			t.Errorf("alias %v refers to %v; want the empty value of &x", a, target)
		}
	}
	if n != 1 {
		t.Errorf("%d aliases resolved; want *x", n)
	}
}
