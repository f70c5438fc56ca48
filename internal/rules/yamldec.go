package rules

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/pathlight/pathlight/internal/rules/cond"
	"github.com/pathlight/pathlight/internal/yamlguard"
)

// dec decodes one file's YAML syntax tree strictly, by hand: unlike a struct decoder that
// stops at the first mistake, it records every mistake with its position and carries on, so
// a load reports all of them at once.
type dec struct {
	file    string
	errs    []PosError
	aliases map[*ast.AliasNode]ast.Node // each alias's anchored value (yamlguard.Doc)
	// fileScope is the file's top-level `sites`: the scope of its rules that give none.
	fileScope rawScope
}

// pos is a position in a rules file, kept on decoded rules for the errors that only the
// compile step can find (an unknown step id, a duplicate across files).
type pos struct {
	file      string
	line, col int
}

// String returns "file:line:col".
func (p pos) String() string { return p.file + ":" + strconv.Itoa(p.line) + ":" + strconv.Itoa(p.col) }

// entry is one key and value of a YAML mapping.
type entry struct {
	key  string
	k, v ast.Node
}

// at returns the position of n. A block mapping is reported at its first key, which is where
// a reader looks for it; a key/value pair at its key.
func (d *dec) at(n ast.Node) pos {
	switch m := n.(type) {
	case nil:
		return pos{file: d.file}
	case *ast.MappingValueNode:
		return d.at(m.Key)
	case *ast.MappingNode:
		if !m.IsFlowStyle && len(m.Values) > 0 {
			return d.at(m.Values[0].Key)
		}
	case *ast.DocumentNode:
		return d.at(m.Body)
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return pos{file: d.file}
	}
	return pos{file: d.file, line: tk.Position.Line, col: tk.Position.Column}
}

func (d *dec) errorf(n ast.Node, format string, args ...any) {
	d.errAt(d.at(n), fmt.Sprintf(format, args...))
}

func (d *dec) errAt(p pos, msg string) {
	d.errs = append(d.errs, PosError{File: p.file, Line: p.line, Col: p.col, Msg: msg})
}

// parseYAML parses one file within the bounds of rulesLimits, for a dec over it. A file
// beyond a bound is reported at the line at fault, as a syntax error is: nothing of it is
// decoded.
func parseYAML(name string, src []byte) (*dec, *ast.File, *PosError) {
	doc, err := yamlguard.Parse(src, rulesLimits)
	if err != nil {
		var ge *yamlguard.Error
		if errors.As(err, &ge) && !ge.Syntax {
			return nil, nil, &PosError{File: name, Line: ge.Line, Col: ge.Col, Msg: ge.Msg}
		}
		if ge != nil {
			err = ge.Err
		}
		pe := syntaxError(name, err)
		return nil, nil, &pe
	}
	return &dec{file: name, aliases: doc.Aliases}, doc.File, nil
}

// rulesLimits bound one rules or rule test file. Rules are written by hand: the demo's five
// files hold 10 KB and 1,200 values, and a megabyte of rules, about 700 slots, parses in a
// quarter of a second. The bounds keep a file, however crafted, from taking more than a few
// hundred megabytes to load.
var rulesLimits = yamlguard.Limits{
	MaxBytes:       maxFileSize,
	MaxDepth:       64,
	MaxNodes:       250_000,
	MaxScalarBytes: 4 << 20,
}

// resolve follows anchors, aliases and tags to the node that holds the value.
func (d *dec) resolve(n ast.Node) ast.Node {
	for range 16 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			t, ok := d.aliases[v]
			if !ok {
				d.errorf(n, "unknown alias *%s (an alias refers to an anchor written before it, outside its own value)", v.Value.GetToken().Value)
				return nil
			}
			n = t
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
	d.errorf(n, "aliases nested too deeply")
	return nil
}

// kindOf names the kind of a node for error messages.
func kindOf(n ast.Node) string {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		return "a string"
	case *ast.IntegerNode:
		return "a number"
	case *ast.FloatNode, *ast.InfinityNode, *ast.NanNode:
		return "a number with a fraction"
	case *ast.BoolNode:
		return "a boolean"
	case nil, *ast.NullNode:
		return "empty"
	}
	return "a " + n.Type().String()
}

// isNull reports whether n is absent or an explicit null.
func isNull(n ast.Node) bool {
	switch n.(type) {
	case nil, *ast.NullNode:
		return true
	}
	return false
}

// entries returns the pairs of the mapping n, or reports that n is not a mapping. An empty
// value (`caps:` with nothing after it) is an empty mapping.
func (d *dec) entries(n ast.Node, what string) ([]entry, bool) {
	n = d.resolve(n)
	var pairs []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	case nil, *ast.NullNode:
		return nil, true
	default:
		d.errorf(n, "%s must be a mapping, not %s", what, kindOf(n))
		return nil, false
	}
	out := make([]entry, 0, len(pairs))
	ok := true
	for _, p := range pairs {
		if _, merge := p.Key.(*ast.MergeKeyNode); merge {
			d.errorf(p.Key, "merge keys (<<) are not supported")
			ok = false
			continue
		}
		k := d.resolve(p.Key)
		key, isScalar := scalarText(k)
		if !isScalar {
			d.errorf(p.Key, "a key in %s must be a plain value, not %s", what, kindOf(k))
			ok = false
			continue
		}
		out = append(out, entry{key: key, k: p.Key, v: p.Value})
	}
	return out, ok
}

// object decodes the mapping n whose keys must be among known, calling set for each pair.
// An unknown key is reported with the closest known key, so a typo points at its fix. It
// returns false when n is not a mapping at all: then the caller should not also report the
// keys it lacks.
func (d *dec) object(n ast.Node, what string, known []string, set func(e entry)) bool {
	before := len(d.errs)
	es, _ := d.entries(n, what)
	if len(es) == 0 && len(d.errs) > before {
		return false
	}
	for _, e := range es {
		if !slices.Contains(known, e.key) {
			d.errorf(e.k, "unknown key %q in %s%s", e.key, what, suggest(e.key, known))
			continue
		}
		set(e)
	}
	return true
}

// require reports the keys of names that the mapping n lacks.
func (d *dec) require(n ast.Node, what string, have map[string]bool, names ...string) {
	for _, name := range names {
		if !have[name] {
			d.errorf(n, "%s needs %q", what, name)
		}
	}
}

// suggest returns `; did you mean "x"?` for the known word closest to s, or "".
func suggest(s string, known []string) string {
	best, bestD := "", 3
	if len(s) <= 4 {
		bestD = 2
	}
	for _, k := range known {
		if dist := editDistance(s, k); dist < bestD {
			best, bestD = k, dist
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf("; did you mean %q?", best)
}

// editDistance is the edit distance of two short strings, counting an insertion, a
// deletion, a substitution or a swap of two neighbours as one edit (optimal string
// alignment), so that "whne" is one edit from "when".
func editDistance(a, b string) int {
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			v := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				v = min(v, rows[i-2][j-2]+1)
			}
			rows[i][j] = v
		}
	}
	return rows[len(a)][len(b)]
}

// scalarText returns the text of a scalar node as written.
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	}
	return "", false
}

// str decodes a string.
func (d *dec) str(n ast.Node, what string) (string, bool) {
	r := d.resolve(n)
	switch v := r.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	}
	d.errorf(n, "%s must be a string, not %s", what, kindOf(r))
	return "", false
}

// text decodes a piece of prose: any scalar, so that `question: 42?` or `choices: [1, 2]`
// read as the marketer wrote them.
func (d *dec) text(n ast.Node, what string) (string, bool) {
	r := d.resolve(n)
	if s, ok := scalarText(r); ok {
		return s, true
	}
	d.errorf(n, "%s must be text, not %s", what, kindOf(r))
	return "", false
}

var idPattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// maxIDLen bounds ids: a hit names its slots in at most 64 bytes, and names no longer than
// that read well in reports too.
const maxIDLen = 64

// ident decodes an id: letters, digits, '_' and '-', starting with a letter or '_', so that
// ids can appear in field paths such as steps.<id>.count; at most maxIDLen bytes.
func (d *dec) ident(n ast.Node, what string) (string, bool) {
	s, ok := d.str(n, what)
	if !ok {
		return "", false
	}
	if !idPattern.MatchString(s) {
		d.errorf(n, "%s %q must start with a letter or '_' and hold only letters, digits, '_' and '-'", what, s)
		return "", false
	}
	if len(s) > maxIDLen {
		d.errorf(n, "%s %q is longer than %d bytes", what, s, maxIDLen)
		return "", false
	}
	return s, true
}

// keyIdent checks an id given as a mapping key.
func (d *dec) keyIdent(e entry, what string) bool {
	if !idPattern.MatchString(e.key) {
		d.errorf(e.k, "%s %q must start with a letter or '_' and hold only letters, digits, '_' and '-'", what, e.key)
		return false
	}
	if len(e.key) > maxIDLen {
		d.errorf(e.k, "%s %q is longer than %d bytes", what, e.key, maxIDLen)
		return false
	}
	return true
}

// integer decodes a whole number.
func (d *dec) integer(n ast.Node, what string) (int64, bool) {
	r := d.resolve(n)
	if v, ok := r.(*ast.IntegerNode); ok {
		switch x := v.Value.(type) {
		case int64:
			return x, true
		case uint64:
			if x <= math.MaxInt64 {
				return int64(x), true
			}
		}
		d.errorf(n, "%s is too large", what)
		return 0, false
	}
	d.errorf(n, "%s must be a whole number, not %s", what, kindOf(r))
	return 0, false
}

// positive decodes a whole number of at least 1: a count that zero would make meaningless.
func (d *dec) positive(n ast.Node, what string) (int, bool) {
	v, ok := d.integer(n, what)
	if !ok {
		return 0, false
	}
	if v < 1 {
		d.errorf(n, "%s %d must be at least 1", what, v)
		return int(v), false
	}
	return int(v), true
}

// number decodes a finite number.
func (d *dec) number(n ast.Node, what string) (float64, bool) {
	r := d.resolve(n)
	switch v := r.(type) {
	case *ast.IntegerNode:
		switch x := v.Value.(type) {
		case int64:
			return float64(x), true
		case uint64:
			return float64(x), true
		}
	case *ast.FloatNode:
		if !math.IsInf(v.Value, 0) && !math.IsNaN(v.Value) {
			return v.Value, true
		}
	}
	d.errorf(n, "%s must be a number, not %s", what, kindOf(r))
	return 0, false
}

// boolean decodes true or false.
func (d *dec) boolean(n ast.Node, what string) (bool, bool) {
	r := d.resolve(n)
	if v, ok := r.(*ast.BoolNode); ok {
		return v.Value, true
	}
	d.errorf(n, "%s must be true or false, not %s", what, kindOf(r))
	return false, false
}

// fraction decodes a share of visitors: "5%" or a fraction such as 0.05, into [0, 1].
func (d *dec) fraction(n ast.Node, what string) (float64, bool) {
	r := d.resolve(n)
	if s, ok := r.(*ast.StringNode); ok && strings.HasSuffix(s.Value, "%") {
		p, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s.Value, "%")), 64)
		if err != nil || p < 0 || p > 100 || math.IsNaN(p) {
			d.errorf(n, "%s %q must be a percentage between 0%% and 100%%", what, s.Value)
			return 0, false
		}
		return p / 100, true
	}
	switch r.(type) {
	case *ast.IntegerNode, *ast.FloatNode:
		f, ok := d.number(n, what)
		if !ok {
			return 0, false
		}
		if f < 0 || f > 1 {
			d.errorf(n, "%s %v must be a fraction between 0 and 1, or a percentage such as %v%%", what, f, f)
			return 0, false
		}
		return f, true
	}
	d.errorf(n, "%s must be a percentage such as 5%% or a fraction such as 0.05, not %s", what, kindOf(r))
	return 0, false
}

// duration decodes a duration in the one grammar of the rules (cond.ParseDuration: 30s,
// 10m, 2h, 7d, 2w, 1h30m, 1.5d), into milliseconds.
func (d *dec) duration(n ast.Node, what string) (int64, bool) {
	r := d.resolve(n)
	s, ok := r.(*ast.StringNode)
	if !ok {
		d.errorf(n, "%s must be a duration: %s; not %s", what, cond.DurationHint, kindOf(r))
		return 0, false
	}
	ms, err := cond.ParseDuration(strings.TrimSpace(s.Value))
	if err != nil {
		d.errorf(n, "%s: %v", what, err)
		return 0, false
	}
	return ms, true
}

// date decodes 2025-04-01 (midnight UTC) or an RFC 3339 time, into Unix milliseconds.
func (d *dec) date(n ast.Node, what string) (int64, bool) {
	r := d.resolve(n)
	s, ok := scalarText(r)
	if ok {
		if t, err := time.Parse("2006-01-02", s); err == nil {
			return t.UnixMilli(), true
		}
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.UnixMilli(), true
		}
	}
	d.errorf(n, "%s must be a date such as 2025-04-01 or 2025-04-01T09:00:00Z", what)
	return 0, false
}

// list returns the items of a list, or reports that n is not one.
func (d *dec) list(n ast.Node, what string) ([]ast.Node, bool) {
	r := d.resolve(n)
	switch v := r.(type) {
	case *ast.SequenceNode:
		return v.Values, true
	case nil, *ast.NullNode:
		return nil, true
	}
	d.errorf(n, "%s must be a list, not %s", what, kindOf(r))
	return nil, false
}

// idList decodes a list of ids, keeping the node of each for later reference checks.
func (d *dec) idList(n ast.Node, what string) ([]string, []ast.Node) {
	items, _ := d.list(n, what)
	var ids []string
	var nodes []ast.Node
	for _, it := range items {
		if s, ok := d.ident(it, what); ok {
			ids = append(ids, s)
			nodes = append(nodes, it)
		}
	}
	return ids, nodes
}

// value converts a YAML subtree into the JSON-like tree conditions compile from: maps with
// string keys, []any, string, float64, bool and nil.
func (d *dec) value(n ast.Node) any {
	r := d.resolve(n)
	switch v := r.(type) {
	case nil, *ast.NullNode:
		return nil
	case *ast.StringNode:
		return v.Value
	case *ast.LiteralNode:
		return v.Value.Value
	case *ast.BoolNode:
		return v.Value
	case *ast.IntegerNode:
		switch x := v.Value.(type) {
		case int64:
			return float64(x)
		case uint64:
			return float64(x)
		}
		return nil
	case *ast.FloatNode:
		return v.Value
	case *ast.InfinityNode:
		return v.Value
	case *ast.NanNode:
		return math.NaN()
	case *ast.SequenceNode:
		out := make([]any, 0, len(v.Values))
		for _, it := range v.Values {
			out = append(out, d.value(it))
		}
		return out
	case *ast.MappingNode, *ast.MappingValueNode:
		es, _ := d.entries(v, "a condition")
		m := make(map[string]any, len(es))
		for _, e := range es {
			m[e.key] = d.value(e.v)
		}
		return m
	}
	d.errorf(n, "unsupported value %s", kindOf(r))
	return nil
}
