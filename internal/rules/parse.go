package rules

import (
	"errors"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
)

var topKeys = []string{"sites", "stages", "steps", "segments", "slots", "experiments", "holdout", "surveys", "chat", "caps", "funnels", "automations", "destinations", "capture"}

// parseFile decodes one rules file into rs, returning its mistakes and whether the file is
// not valid YAML (then nothing of it is decoded).
func parseFile(name string, src []byte, rs *rawSet) ([]PosError, bool) {
	d, f, pe := parseYAML(name, src)
	if pe != nil {
		pe.Msg += " (references to the ids this file defines are not checked until it is fixed)"
		return []PosError{*pe}, true
	}
	before := rs.counts()
	for _, doc := range f.Docs {
		if doc.Body == nil {
			continue
		}
		d.object(doc.Body, "the rules file", topKeys, func(e entry) { d.top(e, rs) })
	}
	rs.applyFileScope(before, d.fileScope)
	return d.errs, false
}

// syntaxError turns a YAML parser error into a PosError, without the source excerpt the
// parser appends: the position is enough for an editor to jump to.
func syntaxError(name string, err error) PosError {
	pe := PosError{File: name, Msg: "invalid YAML: " + err.Error()}
	var ye yaml.Error
	if errors.As(err, &ye) {
		pe.Msg = "invalid YAML: " + ye.GetMessage()
		if tk := ye.GetToken(); tk != nil && tk.Position != nil {
			pe.Line, pe.Col = tk.Position.Line, tk.Position.Column
			// A missing closing bracket is found at the next token, often on a later
			// line; the mistake is at the end of the line the previous token is on.
			if strings.Contains(pe.Msg, "must be specified") && tk.Prev != nil && tk.Prev.Position != nil &&
				tk.Prev.Position.Line < tk.Position.Line {
				p := tk.Prev.Position
				// Origin runs on to the next token: the newline and its indentation.
				pe.Line, pe.Col = p.Line, p.Column+len([]rune(strings.TrimSpace(tk.Prev.Origin)))
			}
		}
	}
	return pe
}

func (d *dec) top(e entry, rs *rawSet) {
	switch e.key {
	case "sites":
		if d.fileScope.own {
			d.errorf(e.k, "sites already given at %s", d.fileScope.at)
			return
		}
		d.fileScope = d.scope(e)
	case "stages":
		if rs.stagesAt != nil {
			d.errorf(e.k, "stages already defined at %s", *rs.stagesAt)
			return
		}
		p := d.at(e.k)
		rs.stagesAt = &p
		items, isList := d.list(e.v, "stages")
		seen := map[string]bool{}
		for _, it := range items {
			s, ok := d.ident(it, "stage")
			if !ok {
				continue
			}
			if seen[s] {
				d.errorf(it, "duplicate stage %q", s)
				continue
			}
			seen[s] = true
			rs.stages = append(rs.stages, s)
		}
		if isList && len(items) == 0 {
			d.errorf(e.k, "stages must list at least one stage")
		}
	case "steps":
		items, _ := d.list(e.v, "steps")
		for _, it := range items {
			if st := d.step(it); st != nil {
				rs.steps = append(rs.steps, st)
			}
		}
	case "segments":
		rs.segments = appendEntries(d, rs.segments, e.v, "segments", d.segment)
	case "slots":
		rs.slots = appendEntries(d, rs.slots, e.v, "slots", d.slot)
	case "experiments":
		rs.experiments = appendEntries(d, rs.experiments, e.v, "experiments", d.experiment)
	case "holdout":
		if rs.holdout != nil {
			d.errorf(e.k, "holdout already defined at %s", rs.holdout.at)
			return
		}
		rs.holdout = d.holdout(e)
	case "surveys", "chat":
		kind := "survey"
		if e.key == "chat" {
			kind = "chat"
		}
		rs.prompts = appendEntries(d, rs.prompts, e.v, e.key, func(se entry) *rawPrompt { return d.prompt(se, kind) })
	case "caps":
		if rs.caps != nil {
			d.errorf(e.k, "caps already defined at %s", rs.caps.at)
			return
		}
		rs.caps = d.caps(e)
	case "automations":
		rs.automations = appendEntries(d, rs.automations, e.v, "automations", d.automation)
	case "destinations":
		rs.destinations = appendEntries(d, rs.destinations, e.v, "destinations", d.destination)
	case "capture":
		rs.captures = appendEntries(d, rs.captures, e.v, "capture", d.capture)
	case "funnels":
		rs.funnels = appendEntries(d, rs.funnels, e.v, "funnels", d.funnel)
	}
}

// appendEntries decodes each entry of the mapping n, the value of key, with parse and
// appends to list those that decode; parse has reported why an entry does not.
func appendEntries[T any](d *dec, list []*T, n ast.Node, key string, parse func(entry) *T) []*T {
	es, _ := d.entries(n, key)
	for _, se := range es {
		if x := parse(se); x != nil {
			list = append(list, x)
		}
	}
	return list
}

// cond decodes a condition: a mapping of field paths and operators.
func (d *dec) cond(n ast.Node, what string) *rawCond {
	r := d.resolve(n)
	if isNull(r) {
		return nil
	}
	switch r.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
	default:
		d.errorf(n, "%s must be a condition (a mapping of fields to values), not %s", what, kindOf(r))
		return nil
	}
	before := len(d.errs)
	tree, _ := d.value(r).(map[string]any)
	if len(d.errs) > before {
		return nil
	}
	return &rawCond{tree: tree, node: r, d: d}
}

func quote(s string) string { return `"` + s + `"` }
