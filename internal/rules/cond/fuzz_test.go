package cond

import (
	"encoding/json"
	"testing"
)

// FuzzCompileEval compiles arbitrary conditions, strict and lenient, and evaluates them on
// arbitrary documents: nothing may panic, and Explain must agree with Eval.
func FuzzCompileEval(f *testing.F) {
	seeds := [][2]string{
		{`{"a": 1}`, `{"a": "1"}`},
		{`{"$or": [{"a.b": {"$in": [1, "x"]}}, {"c": {"$elemMatch": {"d": {"$regex": "^x"}}}}]}`, `{"a": {"b": [1]}, "c": [{"d": "xy"}]}`},
		{`{"v": {"$vgt": "1.2.3-rc.1", "$vlte": 2}}`, `{"v": "v1.2.3+b"}`},
		{`{"t": {"$size": {"$gt": 0}}, "u": {"$all": [{"$gt": 1}]}}`, `{"t": [0], "u": [2]}`},
		{`{"$not": {"$nor": [{"x": null}]}}`, `{}`},
		{`{"n": {"$gte": "0x10", "$type": "number"}, "s": {"$ini": ["A"], "$regexi": "a"}}`, `{"n": 16, "s": "a"}`},
		{`{"g": {"$inGroup": "grp"}, "h": {"$exists": false}}`, `{"g": 3}`},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, condJSON, docJSON string) {
		var cond map[string]any
		var doc any
		if json.Unmarshal([]byte(condJSON), &cond) != nil || json.Unmarshal([]byte(docJSON), &doc) != nil {
			return
		}
		d := &Doc{Root: FromAny(doc)}
		groups := map[string][]any{"grp": {1.0, "3", 3.0}}
		for _, lenient := range []bool{false, true} {
			c, err := Compile(cond, DocResolver, Options[Doc]{Lenient: lenient, SavedGroups: groups})
			if err != nil {
				continue
			}
			got := c.Eval(d)
			if ok, f := c.Explain(d); ok != got || (!ok && f.Op == "") {
				t.Fatalf("Explain(%s) on %s = %v, %+v; Eval = %v", condJSON, docJSON, ok, f, got)
			}
		}
	})
}
