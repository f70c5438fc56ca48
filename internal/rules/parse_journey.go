package rules

import "github.com/goccy/go-yaml/ast"

var stepKeys = []string{"id", "stage", "when", "conversion", "value", "description", "sites"}

func (d *dec) step(n ast.Node) *rawStep {
	st := &rawStep{at: d.at(n)}
	have := map[string]bool{}
	var valueNode ast.Node
	badConversion := false
	isMap := d.object(n, "step", stepKeys, func(e entry) {
		have[e.key] = true
		switch e.key {
		case "id":
			st.id, _ = d.ident(e.v, "step id")
		case "stage":
			st.stage, _ = d.ident(e.v, "stage")
			st.stageAt = d.at(e.v)
		case "when":
			st.when = d.cond(e.v, "when")
		case "conversion":
			var ok bool
			st.conversion, ok = d.boolean(e.v, "conversion")
			badConversion = !ok
		case "value":
			st.value, _ = d.str(e.v, "value")
			valueNode = e.k
		case "description":
			st.desc, _ = d.text(e.v, "description")
		case "sites":
			st.scope = d.scope(e)
		}
	})
	if !isMap {
		return nil
	}
	d.require(n, "step", have, "id", "stage", "when")
	if valueNode != nil && !st.conversion && !badConversion { // a bad conversion is reported already
		d.errorf(valueNode, "value is only meaningful on a step with conversion: true")
	}
	if st.id == "" {
		return nil
	}
	return st
}

var segmentKeys = []string{"when", "description", "sites"}

func (d *dec) segment(e entry) *rawSegment {
	if !d.keyIdent(e, "segment id") {
		return nil
	}
	sg := &rawSegment{at: d.at(e.k), id: e.key}
	have := map[string]bool{}
	if d.object(e.v, "segment "+quote(e.key), segmentKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "when":
			sg.when = d.cond(f.v, "when")
		case "description":
			sg.desc, _ = d.text(f.v, "description")
		case "sites":
			sg.scope = d.scope(f)
		}
	}) {
		d.require(e.k, "segment "+quote(e.key), have, "when")
	}
	return sg
}

var (
	slotKeys    = []string{"default", "variants", "sites"}
	defaultKeys = []string{"id", "content"}
	variantKeys = []string{"id", "when", "segment", "content"}
)

func (d *dec) slot(e entry) *rawSlot {
	if !d.keyIdent(e, "slot id") {
		return nil
	}
	sl := &rawSlot{at: d.at(e.k), id: e.key}
	what := "slot " + quote(e.key)
	d.object(e.v, what, slotKeys, func(f entry) {
		switch f.key {
		case "default":
			sl.def, sl.defID = d.slotDefault(f.v, what+" default")
		case "sites":
			sl.scope = d.scope(f)
		case "variants":
			items, _ := d.list(f.v, what+" variants")
			for _, it := range items {
				if v := d.variant(it, what); v != nil {
					sl.variants = append(sl.variants, v)
				}
			}
		}
	})
	return sl
}

// slotDefault decodes `default: {id: x, content: "..."}` or the shorthand `default: "..."`.
func (d *dec) slotDefault(n ast.Node, what string) (*rawText, string) {
	r := d.resolve(n)
	if s, ok := scalarText(r); ok {
		return &rawText{at: d.at(n), text: s}, "default"
	}
	var t *rawText
	id := "default"
	have := map[string]bool{}
	isMap := d.object(n, what, defaultKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "id":
			if s, ok := d.ident(f.v, "variant id"); ok {
				id = s
			}
		case "content":
			s, _ := d.text(f.v, "content")
			t = &rawText{at: d.at(f.v), text: s}
		}
	})
	if isMap {
		d.require(n, what, have, "content")
	}
	return t, id
}

func (d *dec) variant(n ast.Node, slotWhat string) *rawVariant {
	v := &rawVariant{at: d.at(n)}
	have := map[string]bool{}
	if !d.object(n, "variant", variantKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "id":
			v.id, _ = d.ident(f.v, "variant id")
		case "when":
			v.when = d.cond(f.v, "when")
		case "segment":
			v.segment, _ = d.ident(f.v, "segment")
			v.segAt = d.at(f.v)
		case "content":
			s, _ := d.text(f.v, "content")
			v.content = &rawText{at: d.at(f.v), text: s}
		}
	}) {
		return nil
	}
	d.require(n, "variant", have, "id", "content")
	if have["id"] && !have["when"] && !have["segment"] {
		d.errorf(n, "variant %q of %s needs when or segment (use default for the fallback)", v.id, slotWhat)
	}
	if v.id == "" {
		return nil
	}
	return v
}

var funnelKeys = []string{"steps", "window", "mode", "exclude", "breakdown", "description", "sites"}

func (d *dec) funnel(e entry) *rawFunnel {
	if !d.keyIdent(e, "funnel id") {
		return nil
	}
	fn := &rawFunnel{at: d.at(e.k), id: e.key, mode: FunnelOrdered, window: defaultFunnelWindow}
	what := "funnel " + quote(e.key)
	have := map[string]bool{}
	isMap := d.object(e.v, what, funnelKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "steps":
			ids, nodes := d.idList(f.v, "funnel step")
			fn.steps = ids
			for _, n := range nodes {
				fn.stepsAt = append(fn.stepsAt, d.at(n))
			}
			if len(ids) < 2 {
				d.errorf(f.k, "%s needs at least two steps", what)
			}
		case "window":
			if ms, ok := d.duration(f.v, "window"); ok {
				if ms <= 0 {
					d.errorf(f.v, "window must be longer than zero")
				}
				fn.window = ms
			}
		case "mode":
			if s, ok := d.str(f.v, "mode"); ok {
				switch FunnelMode(s) {
				case FunnelOrdered, FunnelStrict, FunnelUnordered:
					fn.mode = FunnelMode(s)
				default:
					d.errorf(f.v, "unknown funnel mode %q (want ordered, strict or unordered)", s)
				}
			}
		case "exclude":
			ids, nodes := d.idList(f.v, "excluded step")
			fn.exclude = ids
			for _, n := range nodes {
				fn.excludeAt = append(fn.excludeAt, d.at(n))
			}
		case "breakdown":
			fn.breakdown, _ = d.str(f.v, "breakdown")
			fn.breakdownAt = d.at(f.v)
		case "description":
			fn.desc, _ = d.text(f.v, "description")
		case "sites":
			fn.scope = d.scope(f)
		}
	})
	if !isMap {
		return nil
	}
	d.require(e.k, what, have, "steps")
	return fn
}
