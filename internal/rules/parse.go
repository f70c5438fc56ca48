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
		es, _ := d.entries(e.v, "segments")
		for _, se := range es {
			if sg := d.segment(se); sg != nil {
				rs.segments = append(rs.segments, sg)
			}
		}
	case "slots":
		es, _ := d.entries(e.v, "slots")
		for _, se := range es {
			if sl := d.slot(se); sl != nil {
				rs.slots = append(rs.slots, sl)
			}
		}
	case "experiments":
		es, _ := d.entries(e.v, "experiments")
		for _, se := range es {
			if x := d.experiment(se); x != nil {
				rs.experiments = append(rs.experiments, x)
			}
		}
	case "holdout":
		if rs.holdout != nil {
			d.errorf(e.k, "holdout already defined at %s", rs.holdout.at)
			return
		}
		rs.holdout = d.holdout(e)
	case "surveys", "chat":
		es, _ := d.entries(e.v, e.key)
		kind := "survey"
		if e.key == "chat" {
			kind = "chat"
		}
		for _, se := range es {
			if p := d.prompt(se, kind); p != nil {
				rs.prompts = append(rs.prompts, p)
			}
		}
	case "caps":
		if rs.caps != nil {
			d.errorf(e.k, "caps already defined at %s", rs.caps.at)
			return
		}
		rs.caps = d.caps(e)
	case "automations":
		es, _ := d.entries(e.v, "automations")
		for _, se := range es {
			if a := d.automation(se); a != nil {
				rs.automations = append(rs.automations, a)
			}
		}
	case "destinations":
		es, _ := d.entries(e.v, "destinations")
		for _, se := range es {
			if x := d.destination(se); x != nil {
				rs.destinations = append(rs.destinations, x)
			}
		}
	case "capture":
		es, _ := d.entries(e.v, "capture")
		for _, se := range es {
			if cp := d.capture(se); cp != nil {
				rs.captures = append(rs.captures, cp)
			}
		}
	case "funnels":
		es, _ := d.entries(e.v, "funnels")
		for _, se := range es {
			if f := d.funnel(se); f != nil {
				rs.funnels = append(rs.funnels, f)
			}
		}
	}
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
