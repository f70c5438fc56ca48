package cond

import (
	"encoding/json"
	"os"
	"testing"
)

func TestZZDiff(t *testing.T) {
	data, err := os.ReadFile("/tmp/gbdiff/cases.json")
	if err != nil {
		t.Skip()
	}
	var cases [][]any
	json.Unmarshal(data, &cases)
	var want []any
	d2, _ := os.ReadFile("/tmp/gbdiff/js.json")
	json.Unmarshal(d2, &want)
	bad := 0
	for i, c := range cases {
		m, _ := c[0].(map[string]any)
		cd, err := Compile(m, DocResolver, Options[Doc]{Lenient: true})
		if err != nil {
			bad++
			if bad < 30 {
				b, _ := json.Marshal(c)
				t.Errorf("%d compile %v: %s", i, err, b)
			}
			continue
		}
		got := cd.Eval(&Doc{Root: FromAny(c[1])})
		if w, _ := want[i].(bool); got != w {
			bad++
			if bad < 30 {
				b, _ := json.Marshal(c)
				t.Errorf("%d got %v want %v: %s", i, got, w, b)
			}
		}
	}
	t.Logf("bad %d / %d", bad, len(cases))
}
