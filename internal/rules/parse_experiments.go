package rules

import "github.com/goccy/go-yaml/ast"

var (
	experimentKeys = []string{"slot", "when", "segment", "coverage", "variants", "goal", "start", "stop", "seed", "description", "sites"}
	armKeys        = []string{"id", "weight", "content"}
)

func (d *dec) experiment(e entry) *rawExperiment {
	if !d.keyIdent(e, "experiment id") {
		return nil
	}
	x := &rawExperiment{at: d.at(e.k), id: e.key, coverage: 1, seed: e.key}
	what := "experiment " + quote(e.key)
	have := map[string]bool{}
	isMap := d.object(e.v, what, experimentKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "slot":
			x.slot, _ = d.ident(f.v, "slot")
		case "when":
			x.when = d.cond(f.v, "when")
		case "segment":
			x.segment, _ = d.ident(f.v, "segment")
			x.segAt = d.at(f.v)
		case "coverage":
			if c, ok := d.fraction(f.v, "coverage"); ok {
				x.coverage = c
			}
		case "variants":
			x.armsAt = d.at(f.k)
			items, _ := d.list(f.v, what+" variants")
			for _, it := range items {
				if a := d.arm(it); a != nil {
					x.arms = append(x.arms, a)
				}
			}
		case "goal":
			x.goal, _ = d.ident(f.v, "goal")
			x.goalAt = d.at(f.v)
		case "start":
			x.start, _ = d.date(f.v, "start")
		case "stop":
			x.stop, _ = d.date(f.v, "stop")
			x.stopAt = d.at(f.v)
		case "seed":
			x.seed, _ = d.str(f.v, "seed")
		case "description":
			x.desc, _ = d.text(f.v, "description")
		case "sites":
			x.scope = d.scope(f)
		}
	})
	if isMap {
		d.require(e.k, what, have, "slot", "variants")
	}
	return x
}

func (d *dec) arm(n ast.Node) *rawArm {
	a := &rawArm{at: d.at(n)}
	have := map[string]bool{}
	if !d.object(n, "experiment variant", armKeys, func(f entry) {
		have[f.key] = true
		switch f.key {
		case "id":
			a.id, _ = d.ident(f.v, "variant id")
		case "weight":
			// A bad weight still counts as given, so it is reported once, not also as a
			// missing weight.
			w, ok := d.number(f.v, "weight")
			if ok && w < 0 {
				d.errorf(f.v, "weight %v must not be negative", w)
				ok = false
			}
			a.weight, a.hasWeight, a.badWeight = w, true, !ok
		case "content":
			s, _ := d.text(f.v, "content")
			a.content = &rawText{at: d.at(f.v), text: s}
		}
	}) {
		return nil
	}
	d.require(n, "experiment variant", have, "id")
	if a.id == "" {
		return nil
	}
	return a
}

var holdoutKeys = []string{"size", "seed"}

// holdout decodes `holdout: 5%` or `holdout: {size: 5%, seed: spring}`.
func (d *dec) holdout(e entry) *rawHoldout {
	h := &rawHoldout{at: d.at(e.k), seed: "pathlight-holdout"}
	switch d.resolve(e.v).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		have := map[string]bool{}
		d.object(e.v, "holdout", holdoutKeys, func(f entry) {
			have[f.key] = true
			switch f.key {
			case "size":
				h.fraction, _ = d.fraction(f.v, "holdout size")
			case "seed":
				h.seed, _ = d.str(f.v, "holdout seed")
			}
		})
		d.require(e.k, "holdout", have, "size")
	default:
		h.fraction, _ = d.fraction(e.v, "holdout")
	}
	return h
}
